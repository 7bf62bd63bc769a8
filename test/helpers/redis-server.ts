import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { waitFor } from './env.js'

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/**
 * A private redis-server on a spare port, for tests that stop, pause or restart Redis without
 * disturbing the shared one. AOF is on so a restart keeps queued jobs, as in production.
 */
export class RedisProcess {
  proc?: ChildProcess
  readonly dir = mkdtempSync(join(tmpdir(), 'tg-redis-'))
  constructor (readonly port: number, readonly args: string[] = [], readonly host = '127.0.0.1') {}

  /** `host` is the address it binds (another than 127.0.0.1 for the several-host scenario). */
  static async start (args: string[] = [], host?: string): Promise<RedisProcess> {
    const r = new RedisProcess(await freePort(), args, host)
    await r.start()
    return r
  }

  get url () { return `redis://${this.host}:${this.port}` }
  get running (): boolean { return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null }

  async start (): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', this.host, '--dir', this.dir,
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction',
      // Another address than loopback is a virtual host's network, built by the test itself.
      ...(this.host === '127.0.0.1' ? [] : ['--protected-mode', 'no']), ...this.args], { stdio: 'ignore' })
    await waitFor(async () => {
      const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      c.on('error', () => {})
      try { await c.connect(); return (await c.ping()) === 'PONG' } finally { c.disconnect() }
    }, `redis on ${this.port}`)
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc
    if (!p || !this.running) return
    const exited = new Promise(resolve => p.once('exit', resolve))
    p.kill(signal)
    await exited
  }

  async destroy (): Promise<void> {
    await this.stop('SIGKILL')
    rmSync(this.dir, { recursive: true, force: true })
  }
}
