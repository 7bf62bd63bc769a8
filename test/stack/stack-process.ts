import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { createTestPrefix, PG_ADMIN_URL, rid, waitFor } from '../helpers/env.js'
import { freePort } from '../helpers/redis-server.js'

type T = { teardown: (fn: () => unknown) => void }

const ROOT = new URL('../..', import.meta.url).pathname

export interface StackOptions {
  /** The database the stack creates and empties at start (STACK_RESET_DATABASE=1); dropped at teardown. */
  database?: string
  /** Redis key prefix; its keys are deleted at teardown. */
  prefix?: string
  env?: NodeJS.ProcessEnv
}

export interface StackRun {
  npm: ChildProcess
  api: string
  stripe: string
  mail: string
  ports: { api: number, emulator: number, smtp: number, mail: number, metrics: number }
  database: string
  prefix: string
  env: NodeJS.ProcessEnv
  output: () => string
  /** npm's pid and every process under it, as they are now. */
  tree: () => number[]
  /** The stack's own process (`node … scripts/stack.ts`) under npm. */
  stackPid: () => number
}

/** Parent of every live process, from /proc (Linux). */
function parents (): Map<number, number> {
  const out = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (fields[0] !== 'Z') out.set(Number(name), Number(fields[1]))
    } catch {}
  }
  return out
}

export function descendants (root: number): number[] {
  const byParent = parents()
  const found = [root]
  for (let i = 0; i < found.length; i++) for (const [pid, ppid] of byParent) if (ppid === found[i]) found.push(pid)
  return found.filter(pid => byParent.has(pid))
}

/** Alive and not a zombie. */
export function running (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return false
  }
}

/**
 * `npm run stack` as a reader runs it, in the repository, on spare ports, its own database, Redis
 * prefix and `.env.stack`, so that it never meets a stack someone else runs. (A `.env` in the
 * repository reaches it as it would reach the reader's; CI has none.) Resolves once the banner says
 * ready; whatever still runs at teardown is stopped, and the database dropped.
 */
export async function startStack (t: T, opts: StackOptions = {}): Promise<StackRun> {
  const database = opts.database ?? `tollgate_t_${rid()}`
  const prefix = opts.prefix ?? createTestPrefix(t)
  const ports = { api: await freePort(), emulator: await freePort(), smtp: await freePort(), mail: await freePort(), metrics: await freePort() }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NO_COLOR: '1',
    PORT: String(ports.api),
    HOST: '127.0.0.1',
    EMULATOR_PORT: String(ports.emulator),
    STACK_SMTP_PORT: String(ports.smtp),
    STACK_MAIL_HTTP_PORT: String(ports.mail),
    METRICS_PORT: String(ports.metrics),
    STACK_WORKERS: '1',
    DATABASE_URL: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${database}`),
    STACK_RESET_DATABASE: '1',
    QUEUE_PREFIX: prefix,
    STACK_ENV_FILE: join(tmpdir(), `tollgate-stack-${rid()}.env`),
    LOG_LEVEL: 'warn',
    ...opts.env
  }
  let out = ''
  const npm = spawn('npm', ['run', 'stack'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  npm.stdout!.on('data', (c: Buffer) => { out += c })
  npm.stderr!.on('data', (c: Buffer) => { out += c })
  const seen = new Set<number>()
  const tree = () => { const pids = descendants(npm.pid!); for (const p of pids) seen.add(p); return pids }
  t.teardown(async () => {
    if (running(npm.pid!)) npm.kill('SIGINT')
    await waitFor(() => ![...seen, ...tree()].some(running), 'the stack to stop', 30_000).catch(() => {})
    for (const pid of [...seen].filter(running)) process.kill(pid, 'SIGKILL')
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
    await admin.unsafe(`drop database if exists ${database} with (force)`)
    await admin.end()
  })
  await waitFor(() => {
    if (npm.exitCode !== null) throw new Error(`npm run stack exited (${npm.exitCode}):\n${out}`)
    tree()
    return out.includes('Ctrl-C stops everything.')
  }, 'the stack to be ready', 120_000, 100).catch(err => { throw new Error(`${(err as Error).message}\n${out}`) })
  tree()
  return {
    npm,
    api: `http://127.0.0.1:${ports.api}`,
    stripe: `http://127.0.0.1:${ports.emulator}`,
    mail: `http://127.0.0.1:${ports.mail}`,
    ports,
    database,
    prefix,
    env,
    output: () => out,
    tree,
    stackPid: () => {
      const pid = tree().find(p => existsSync(`/proc/${p}/cmdline`) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('scripts/stack.ts'))
      if (!pid) throw new Error('no stack process under npm')
      return pid
    }
  }
}
