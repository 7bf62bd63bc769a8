import t from 'tap'
import { assertNoEviction, createRedis, waitReady } from '../../src/queue/connections.js'
import { RedisProcess } from '../helpers/redis-server.js'

t.test('startup refuses a Redis that may evict keys', async t => {
  const redis = await RedisProcess.start(['--maxmemory-policy', 'allkeys-lru'])
  t.teardown(() => redis.destroy())
  const client = createRedis(redis.url, 'producer')
  t.teardown(() => client.disconnect())
  await waitReady(client)
  await t.rejects(assertNoEviction(client), /maxmemory-policy is "allkeys-lru" but Tollgate needs "noeviction"/)
  await client.config('SET', 'maxmemory-policy', 'noeviction')
  await t.resolves(assertNoEviction(client))
})
