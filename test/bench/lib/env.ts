import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
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

const children = new Set<ChildProcess>()
process.once('exit', () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL') })

/** Spawns `node --import tsx <file>` with `env` (cwd outside the repo so no .env leaks in). */
export function spawnNode (c: Cleanup, name: string, file: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Proc {
  const child = spawn(process.execPath, [...nodeArgs, '--import', import.meta.resolve('tsx'), `${ROOT}${file}`], {
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
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited`)
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
