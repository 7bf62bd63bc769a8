import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { configSpec } from '../../src/config/spec.js'

/** In the directory the stack runs in, while it runs: the configuration it gave its processes. */
export const STACK_ENV_FILE = process.env.STACK_ENV_FILE || '.env.stack'

const PID_LINE = /^# stack pid (\d+)$/m

/** Scripts that `npm run stack -- <name>` runs with the stack's configuration. */
const SCRIPTS: Record<string, string> = {
  reconcile: 'scripts/reconcile.ts',
  'db:migrate': 'scripts/migrate.ts',
  'stripe:bootstrap': 'scripts/stripe-bootstrap.ts'
}

/** A dotenv value as parseEnv reads it back: quoted with a quote character it does not contain. */
function quote (value: string): string {
  const q = ["'", '"', '`'].find(c => !value.includes(c))
  if (!q || value.includes('\n')) throw new Error(`cannot write "${value.slice(0, 20)}…" to ${STACK_ENV_FILE}`)
  return `${q}${value}${q}`
}

/** Every Tollgate variable the stack set, secrets too: readable by this user only. */
export function writeStackEnv (env: Record<string, string | undefined>): void {
  const lines = [
    `# Written by npm run stack for the scripts run against it (npm run stack -- reconcile); removed when it stops.`,
    `# stack pid ${process.pid}`,
    ...Object.keys(configSpec).flatMap(name => (env[name] === undefined ? [] : [`${name}=${quote(env[name]!)}`]))
  ]
  writeFileSync(STACK_ENV_FILE, `${lines.join('\n')}\n`, { mode: 0o600 })
}

/** Removes the file if this stack wrote it (a second stack in the same directory may have replaced it). */
export function removeStackEnv (): void {
  if (!existsSync(STACK_ENV_FILE)) return
  if (PID_LINE.exec(readFileSync(STACK_ENV_FILE, 'utf8'))?.[1] === String(process.pid)) rmSync(STACK_ENV_FILE)
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' } }

function readStackEnv (): Record<string, string> {
  if (!existsSync(STACK_ENV_FILE)) throw new Error(`no ${STACK_ENV_FILE} here: start the stack first (npm run stack), in this directory`)
  const text = readFileSync(STACK_ENV_FILE, 'utf8')
  const pid = Number(PID_LINE.exec(text)?.[1])
  if (!pid || !alive(pid)) throw new Error(`${STACK_ENV_FILE} is left from a stack that is no longer running (pid ${pid}): start it again with npm run stack`)
  return parseEnv(text) as Record<string, string>
}

/**
 * `npm run stack -- reconcile --since 1d`: one of SCRIPTS with the running stack's configuration
 * (variables set in this shell still win, as everywhere). Resolves to the script's exit code.
 */
export async function runAgainstStack (name: string, args: string[]): Promise<number> {
  const file = SCRIPTS[name]
  if (!file) {
    console.error(`npm run stack -- ${name}: not a script the stack runs; one of ${Object.keys(SCRIPTS).join(', ')}`)
    return 2
  }
  let stackEnv: Record<string, string>
  try {
    stackEnv = readStackEnv()
  } catch (err) {
    console.error(`npm run stack -- ${name}: ${(err as Error).message}`)
    return 1
  }
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { env: { ...stackEnv, ...process.env }, stdio: 'inherit' })
  return await new Promise<number>(resolve => child.once('exit', code => resolve(code ?? 1)))
}
