import { Cluster, Redis, type Command, type RedisOptions } from 'ioredis'
import { parseRedisUrl, type RedisTarget } from './redis-url.js'

export type RedisRole = 'producer' | 'worker'

/**
 * A client whose commands issued in one turn of the event loop leave in one socket write. ioredis
 * writes each command as it is issued; under load the api made a write system call, and woke
 * redis-server, for every webhook's job and for each of a read's two commands (in the bench profile
 * that was 12% of the api's CPU, and Redis did one read per command). Here the socket is corked at
 * the turn's first command and uncorked once the turn's I/O callbacks have run, so the requests that
 * arrived together share one write and Redis reads their commands at once. Commands, replies and
 * their order are unchanged; a command waits at most for the rest of the current turn.
 * (ioredis's own auto-pipelining batches too, but builds a Pipeline per batch, copying every script
 * BullMQ defines, and keeps one batch in flight at a time: slower here, see docs/BENCHMARKS.md.)
 */
class CoalescingRedis extends Redis {
  private corked = false

  override sendCommand (command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    const socket = this.stream
    if (!this.corked && this.status === 'ready' && socket?.writable) {
      this.corked = true
      socket.cork()
      setImmediate(() => {
        this.corked = false
        socket.uncork()
      })
    }
    return super.sendCommand(command, stream)
  }
}

/** A connection to one Redis server or to a Redis Cluster (REDIS_URL decides, `redis-url.ts`). */
export type RedisClient = Redis | Cluster

/**
 * Connections differ by role. Workers block on Redis and must wait out outages
 * (`maxRetriesPerRequest: null`). The api's producer must fail fast so the webhook route can answer
 * 503 and let Stripe retry instead of holding the request: no offline queue, one short command timeout.
 */
const byRole: Record<RedisRole, RedisOptions> = {
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1500, connectTimeout: 1000 }
}

const retryStrategy = (times: number) => Math.min(times * 100, 1000)

export function createRedis (url: string, role: RedisRole, extra: RedisOptions = {}): RedisClient {
  const target = parseRedisUrl(url)
  const options: RedisOptions = { connectionName: `tollgate:${role}`, ...byRole[role], ...extra }
  const client = target.kind === 'single'
    // Producer connections coalesce (the api's; the workers' own for cache invalidations and email
    // jobs), and so does a worker's command connection: the jobs of a batch complete in one turn, and
    // their moveToFinished scripts leave in one write. BullMQ blocks on a plain duplicate of it.
    ? new CoalescingRedis(target.url, { ...options, retryStrategy })
    : createCluster(target, options)
  // ioredis reports connection errors as events; they surface to callers as failed commands.
  client.on('error', () => {})
  return client
}

/**
 * A Redis Cluster client. Every key Tollgate writes carries QUEUE_PREFIX's hash tag, so its keys live
 * in one slot and a script or MULTI never spans two. The offline queue and the retry strategy are the
 * cluster's own options; the rest apply to each node's connection. Commands go to masters only: a
 * replica may lag, and a queue or a cache generation read from one could be stale.
 */
function createCluster (target: Extract<RedisTarget, { kind: 'cluster' }>, options: RedisOptions): Cluster {
  const { enableOfflineQueue, ...node } = options
  return new Cluster(target.nodes, {
    redisOptions: { ...node, username: target.username, password: target.password, ...(target.tls && { tls: {} }) },
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
    scaleReads: 'master',
    clusterRetryStrategy: retryStrategy,
    // A failed-over master's slots move to its replica: ask the cluster again soon and often.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000
  })
}

/**
 * BullMQ loses jobs silently if Redis evicts keys under memory pressure, so Tollgate refuses to
 * start unless the eviction policy is `noeviction` (on every master of a cluster).
 */
export async function assertNoEviction (client: RedisClient): Promise<void> {
  const servers = client instanceof Cluster ? client.nodes('master') : [client]
  for (const server of servers) {
    const reply = await server.config('GET', 'maxmemory-policy') as string[]
    const policy = reply[1]
    if (policy !== 'noeviction') {
      const where = client instanceof Cluster ? ` on ${server.options.host}:${server.options.port}` : ''
      throw new Error(`Redis maxmemory-policy is "${policy}"${where} but Tollgate needs "noeviction": with eviction Redis may drop queued jobs. Set it with: redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf)`)
    }
  }
}

/**
 * Whether Redis serves Tollgate's keys: a read of a key under the prefix, which on a cluster goes to
 * the master of the prefix's slot (a PING would go to any node, healthy or not).
 */
export async function pingRedis (client: RedisClient, prefix: string): Promise<void> {
  await client.exists(`${prefix}:health`)
}

/** Waits until the client is connected or the deadline passes. */
export async function waitReady (client: RedisClient, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`Redis not reachable within ${timeoutMs} ms`)) }, timeoutMs)
    const onReady = () => { cleanup(); resolve() }
    const cleanup = () => { clearTimeout(timer); client.off('ready', onReady) }
    client.on('ready', onReady)
  })
}
