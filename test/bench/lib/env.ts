import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import postgres from 'postgres'
import { Redis } from 'ioredis'
import { runMigrations } from '../../../src/db/migrate.js'
import { PG_ADMIN_URL, rid, waitFor } from '../../helpers/env.js'
import { freePort, RedisProcess } from '../../helpers/redis-server.js'

export const QUICK = process.env.BENCH_QUICK === '1'
export const ROOT = new URL('../../../', import.meta.url).pathname
export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** Everything the run started, undone in reverse order even when a scenario throws. */
export class Cleanup {
  private fns: Array<() => unknown> = []
  teardown (fn: () => unknown) { this.fns.push(fn) }
  async run () {
    for (const fn of this.fns.splice(0).reverse()) {
      try { await fn() } catch (err) { console.error('cleanup:', (err as Error).message) }
    }
  }
}

/** A private, migrated database, dropped at cleanup. */
export async function privateDatabase (c: Cleanup): Promise<{ url: string, name: string }> {
  const name = `tollgate_bench_${rid()}`
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  c.teardown(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  })
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`)
  await runMigrations(url)
  return { url, name }
}

/**
 * A private redis-server configured as docker compose runs it (AOF on, fsync every second,
 * noeviction), so the bench neither touches the shared Redis nor competes with other keys.
 */
export async function privateRedis (c: Cleanup): Promise<RedisProcess> {
  // BENCH_REDIS_AOF=off is for diagnosis only (is the AOF write on this disk what the api waits for?).
  const r = await RedisProcess.start(process.env.BENCH_REDIS_AOF === 'off' ? ['--appendonly', 'no'] : ['--appendfsync', 'everysec'])
  c.teardown(() => r.destroy())
  return r
}

export interface Proc {
  name: string
  child: ChildProcess
  pid: number
  logs: string[]
  stop: () => Promise<void>
}

/** Whether a spawned process has ended, by exit or by signal (a SIGKILLed child has no exit code). */
export function exited (proc: Proc): boolean {
  return proc.child.exitCode !== null || proc.child.signalCode !== null
}

/**
 * Throws, with the tail of their logs, if any of these processes has ended: a phase that goes on
 * measuring a dead process reads its RSS as 0 and its queue as never drained.
 */
export function throwIfExited (procs: Proc[], during: string, tail = 2000): void {
  const gone = procs.filter(exited)
  if (gone.length > 0) throw new Error(`${gone.map(p => p.name).join(', ')} exited during ${during}\n${gone.map(p => p.logs.join('').slice(-tail)).join('\n')}`)
}

const children = new Set<ChildProcess>()
process.once('exit', () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL') })

export type Runtime = 'dist' | 'tsx'

/**
 * Spawns a Tollgate entry file (`src/server.ts`, `workers/all.ts`, …) with `env` (cwd outside the
 * repo so no .env leaks in): as production runs it, its JavaScript compiled into dist/ by `npm run
 * build` (which `npm run bench` runs first), or with `runtime` 'tsx' from the TypeScript source
 * through the tsx loader, as tests and `npm run stack` do.
 */
export function spawnNode (c: Cleanup, name: string, file: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = [], runtime: Runtime = 'tsx'): Proc {
  const entry = runtime === 'dist' ? ['--', `${ROOT}dist/${file.replace(/\.ts$/, '.js')}`] : ['--import', import.meta.resolve('tsx'), `${ROOT}${file}`]
  if (runtime === 'dist' && !existsSync(`${ROOT}dist/${file.replace(/\.ts$/, '.js')}`)) throw new Error(`dist/ lacks ${file}: run npm run build (npm run bench does)`)
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', ...env }, cwd: '/tmp', stdio: ['ignore', 'pipe', 'pipe']
  })
  children.add(child)
  const logs: string[] = []
  // Keep only the tail: an info-level api writes a line per request.
  const keep = (chunk: Buffer) => { logs.push(chunk.toString()); if (logs.length > 200) logs.splice(0, logs.length - 200) }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
      children.delete(child)
    })()
    return stopped
  }
  c.teardown(stop)
  return { name, child, pid: child.pid!, logs, stop }
}

export async function waitHttp (proc: Proc, url: string, timeoutMs = 60_000): Promise<void> {
  try {
    await waitFor(async () => {
      if (exited(proc)) throw new Error(`${proc.name} exited`)
      return (await fetch(url)).ok
    }, `${proc.name} at ${url}`, timeoutMs, 100)
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${proc.logs.join('').slice(-4000)}`)
  }
}

export { freePort }

/** Total CPU time (user + system) of a process so far, in seconds, from /proc/<pid>/stat. */
export function cpuSeconds (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // After "pid (comm) ": state is field 0, utime 11, stime 12 (clock ticks, 100 Hz on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

export async function flushRedis (url: string): Promise<void> {
  const r = new Redis(url)
  await r.flushall()
  r.disconnect()
}

/**
 * The node flags that `npm start` / `npm run worker` give the api / the worker: the bench runs what
 * production runs. BENCH_FLAGS_START / BENCH_FLAGS_WORKER replace them, to measure other flags.
 */
export function productionFlags (script: 'start' | 'worker'): string[] {
  const override = process.env[`BENCH_FLAGS_${script.toUpperCase()}`]
  if (override !== undefined) return override.split(/\s+/).filter(Boolean)
  const command = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).scripts[script] as string
  const words = command.split(/\s+/)
  if (words[0] !== 'node') throw new Error(`package.json's ${script} script does not start with node: ${command}`)
  return words.slice(1).filter(w => w.startsWith('--'))
}

/** Resident set size of a process, in MB, from /proc/<pid>/status (0 once it has exited). */
export function rssMb (pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
  } catch {
    return 0
  }
}
