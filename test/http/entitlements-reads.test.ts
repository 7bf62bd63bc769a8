import t from 'tap'
import { Redis } from 'ioredis'
import { buildTestApp } from '../helpers/app.js'
import { API_KEY } from '../helpers/env.js'
import { RedisProcess } from '../helpers/redis-server.js'

/** How many times redis-server has read from a client socket (INFO stats), counting this INFO's own read. */
async function readsProcessed (admin: Redis): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await admin.info('stats'))![1])
}

t.test('entitlement reads: one Redis round trip for a cached read, the per-key limit, Redis down', async t => {
  const redis = await RedisProcess.start()
  t.teardown(() => redis.destroy())
  const { app } = await buildTestApp(t, { REDIS_URL: redis.url, RATE_LIMIT_READ_PER_MINUTE: '5' })
  const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  const read = (user: string) => app.inject({ url: `/api/v1/entitlements/${user}`, headers: { authorization: `Bearer ${API_KEY}` } })
  const nothing = { user_id: 'u_reads', plan_id: null, status: 'none', access: false }

  // The first read misses (Postgres, then the cache is filled); the second is a cache hit.
  for (let i = 0; i < 2; i++) t.match((await read('u_reads')).json(), nothing)
  const before = await readsProcessed(admin)
  const hit = await read('u_reads')
  t.equal(hit.statusCode, 200)
  t.match(hit.json(), nothing)
  t.equal(await readsProcessed(admin) - before - 1, 1, 'the rate-limit count and the cache read reached Redis together')

  const rest = await Promise.all([read('u_reads'), read('u_reads'), read('u_reads')])
  t.same(rest.map(r => r.statusCode), [200, 200, 429], 'the sixth read within the minute is refused (limit 5)')
  t.equal(rest[2]!.json().error, 'rate_limited')
  t.ok(Number(rest[2]!.headers['retry-after']) >= 1, 'with Retry-After')

  await redis.stop()
  const down = await read('u_other')
  t.equal(down.statusCode, 200, 'with Redis down the read is answered from Postgres')
  t.match(down.json(), { ...nothing, user_id: 'u_other' })
})

t.test('an id the schema refuses never reaches the entitlement cache', async t => {
  const redis = await RedisProcess.start()
  t.teardown(() => redis.destroy())
  const { app } = await buildTestApp(t, { REDIS_URL: redis.url })
  const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  const gets = async () => Number(/cmdstat_mget:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0)
  const read = (user: string) => app.inject({ url: `/api/v1/entitlements/${encodeURIComponent(user)}`, headers: { authorization: `Bearer ${API_KEY}` } })

  await read('u_valid')
  const afterValid = await gets()
  t.ok(afterValid > 0, 'a valid id is looked up in the cache')
  for (const bad of ['x'.repeat(200), "u'; drop table entitlements; --", '../../etc/passwd']) {
    t.equal((await read(bad)).statusCode, 400, `${bad.slice(0, 20)} refused`)
  }
  t.equal(await gets(), afterValid, 'no cache read for the refused ids')
})
