import { Redis, type RedisOptions } from 'ioredis'

export type RedisRole = 'producer' | 'worker' | 'cache'

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
  const client = new Redis(url, { ...base, ...byRole[role], ...extra, retryStrategy: times => Math.min(times * 100, 1000) })
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
