import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stripeBinary } from '../../scripts/stripe-cli.mjs'
import { waitFor } from '../helpers/env.js'

type T = { teardown: (fn: () => unknown) => void }

// The real binary of the platform package, not the npm shim: the shim would not pass a signal on
// to `stripe listen`. Null where npm has no CLI package for this platform: the CLI tests skip.
export const STRIPE_BIN = stripeBinary()
/** For a test's `skip` option: why the CLI tests cannot run here, or false. */
export const NO_CLI = STRIPE_BIN === null && `no Stripe CLI package for ${process.platform}-${process.arch} in node_modules`

export const CLI_KEY = 'sk_test_cli_0123456789'

export interface Cli {
  /** Runs one command to its end. */
  run: (args: string[]) => Promise<{ code: number | null, out: string }>
  /** Starts `stripe listen` and resolves once it printed "Ready!" with its secret. */
  listen: (args: string[]) => Promise<Listener>
}

export interface Listener {
  secret: string
  output: () => string
  /** Sends a signal and resolves to the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/**
 * The Stripe CLI against the emulator at `apiBase`, with a HOME of its own (it writes its config
 * there, and a trigger's fixture may update a .env in its working directory), telemetry off.
 */
export async function stripeCli (t: T, apiBase: string, opts: { key?: string, deviceName?: string } = {}): Promise<Cli> {
  const home = await mkdtemp(path.join(tmpdir(), 'stripe-cli-'))
  const children = new Set<ChildProcess>()
  t.teardown(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await rm(home, { recursive: true, force: true })
  })
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    STRIPE_CLI_TELEMETRY_OPTOUT: '1',
    STRIPE_API_KEY: opts.key ?? CLI_KEY,
    STRIPE_DEVICE_NAME: opts.deviceName ?? 'tollgate-test',
    NO_COLOR: '1'
  }
  const start = (args: string[]) => {
    const child = spawn(STRIPE_BIN!, [...args, '--api-base', apiBase], { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let out = ''
    for (const s of [child.stdout!, child.stderr!]) s.on('data', (c: Buffer) => { out += c.toString() })
    const exited = new Promise<number | null>(resolve => child.once('exit', code => { children.delete(child); resolve(code) }))
    return { child, output: () => out, exited }
  }
  return {
    async run (args) {
      const p = start(args)
      const code = await p.exited
      return { code, out: p.output() }
    },
    async listen (args) {
      const p = start(['listen', '--skip-update', ...args])
      const ready = await waitFor(() => {
        if (p.child.exitCode !== null) throw new Error(`stripe listen exited: ${p.output()}`)
        return /Ready!.*(whsec_[0-9a-f]+)/.exec(p.output())
      }, 'stripe listen to be ready', 15_000)
      return {
        secret: ready[1]!,
        output: p.output,
        stop: (signal = 'SIGTERM') => {
          p.child.kill(signal)
          return p.exited
        }
      }
    }
  }
}
