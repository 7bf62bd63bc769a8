import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { waitFor } from './env.js'
import { freePort, RedisProcess } from './redis-server.js'

const run = promisify(execFile)

/**
 * A Redis Cluster of three masters and three replicas from `redis-server` processes on spare local
 * ports (each node's cluster bus on a spare port too), made with `redis-cli --cluster create`. Nodes
 * time out after `nodeTimeoutMs`, so a killed master's replica takes over within seconds.
 */
export class RedisCluster {
  private constructor (readonly nodes: RedisProcess[]) {}

  static async start (opts: { nodeTimeoutMs?: number, host?: string } = {}): Promise<RedisCluster> {
    const host = opts.host ?? '127.0.0.1'
    const nodes: RedisProcess[] = []
    const cluster = new RedisCluster(nodes)
    try {
      for (let i = 0; i < 6; i++) {
        nodes.push(await RedisProcess.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
          '--cluster-port', String(await freePort()), '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
          '--appendfsync', 'everysec'], host))
      }
      await run('redis-cli', ['--cluster', 'create', ...nodes.map(n => `${host}:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'])
      await cluster.waitHealthy()
    } catch (err) {
      await cluster.destroy()
      throw err
    }
    return cluster
  }

  /** The seed-node URL Tollgate takes in REDIS_URL. */
  get url (): string {
    return `redis+cluster://${this.nodes.map(n => `${n.host}:${n.port}`).join(',')}`
  }

  /** Until every running node sees all slots served and every master has a replica in sync. */
  async waitHealthy (timeoutMs = 60_000): Promise<void> {
    await waitFor(async () => {
      const live = this.nodes.filter(n => n.running)
      for (const node of live) {
        const info = await this.ask(node, c => c.cluster('INFO') as Promise<string>)
        if (!/cluster_state:ok/.test(info)) return false
      }
      const roles = await Promise.all(live.map(n => this.ask(n, c => c.info('replication'))))
      return roles.filter(r => /role:master/.test(r)).every(r => /slave0:.*state=online/.test(r))
    }, 'the Redis Cluster to be healthy', timeoutMs, 100)
  }

  /** The node that is master of the slot of `key` right now. */
  async masterOf (key: string): Promise<RedisProcess> {
    const slot = Number(await this.ask(this.nodes.find(n => n.running)!, c => c.cluster('KEYSLOT', key)))
    for (const node of this.nodes.filter(n => n.running)) {
      const slots = await this.ask(node, c => c.cluster('SLOTS'))
      const range = slots.find(([from, to]) => slot >= from && slot <= to)
      if (range) return this.nodes.find(n => n.port === range[2][1])!
    }
    throw new Error(`no node serves the slot of ${key}`)
  }

  /** The replica of `master` (the node that takes over when it dies). */
  async replicaOf (master: RedisProcess): Promise<RedisProcess> {
    const info = await this.ask(master, c => c.info('replication'))
    const port = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(info)?.[1])
    return this.nodes.find(n => n.port === port)!
  }

  async destroy (): Promise<void> {
    await Promise.all(this.nodes.map(n => n.destroy()))
  }

  private async ask<T> (node: RedisProcess, fn: (c: Redis) => Promise<T>): Promise<T> {
    const c = new Redis(node.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    c.on('error', () => {})
    try { await c.connect(); return await fn(c) } finally { c.disconnect() }
  }
}
