import { Redis, type Command, type RedisOptions } from 'ioredis'

export type RedisRole = 'producer' | 'worker' | 'cache'

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

/**
 * Connections differ by role. Workers block on Redis and must wait out outages
 * (`maxRetriesPerRequest: null`). The api's producer must fail fast so the webhook route can answer
 * 503 and let Stripe retry instead of holding the request: no offline queue, one short command timeout.
 */
export function createRedis (url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const base: RedisOptions = { connectionName: `tollgate:${role}`, lazyConnect: false }
  const byRole: Record<RedisRole, RedisOptions> = {
    worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
    producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1500, connectTimeout: 1000 },
    cache: { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, connectTimeout: 1000, enableAutoPipelining: true }
  }
  // Producer connections coalesce (the api's; the workers' own for cache invalidations and email
  // jobs), and so does a worker's command connection: the jobs of a batch complete in one turn, and
  // their moveToFinished scripts leave in one write. BullMQ blocks on a plain duplicate of it.
  const Client = role === 'cache' ? Redis : CoalescingRedis
  const client = new Client(url, { ...base, ...byRole[role], ...extra, retryStrategy: times => Math.min(times * 100, 1000) })
  // ioredis reports connection errors as events; they surface to callers as failed commands.
  client.on('error', () => {})
  return client
}

/**
 * BullMQ loses jobs silently if Redis evicts keys under memory pressure, so Tollgate refuses to
 * start unless the eviction policy is `noeviction`.
 */
export async function assertNoEviction (client: Redis): Promise<void> {
  const reply = await client.config('GET', 'maxmemory-policy') as string[]
  const policy = reply[1]
  if (policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is "${policy}" but Tollgate needs "noeviction": with eviction Redis may drop queued jobs. Set it with: redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf)`)
  }
}

/** Waits until the client is connected or the deadline passes. */
export async function waitReady (client: Redis, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`Redis not reachable within ${timeoutMs} ms`)) }, timeoutMs)
    const onReady = () => { cleanup(); resolve() }
    const cleanup = () => { clearTimeout(timer); client.off('ready', onReady) }
    client.on('ready', onReady)
  })
}
