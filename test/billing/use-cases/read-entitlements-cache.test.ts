import t from 'tap'
import { cacheIfUnchanged, cachedEntitlement, entitlementsCacheKey, invalidateEntitlementsOf } from '../../../src/billing/use-cases/read-entitlements.js'
import { createTestPrefix, testRedis } from '../../helpers/env.js'

t.test('a reader that loaded a row before an invalidation cannot cache it after', async t => {
  const prefix = createTestPrefix(t)
  const redis = testRedis()
  t.teardown(() => redis.disconnect())

  // Reader misses and notes the generation, then reads Postgres (old row)…
  const [miss, generation] = await cachedEntitlement(redis, prefix, 'u1')
  t.equal(miss, null)
  // …meanwhile the worker commits a new row and invalidates…
  await invalidateEntitlementsOf(redis, prefix, ['u1'])
  // …so the reader's late write of the old row is refused.
  t.equal(await cacheIfUnchanged(redis, prefix, 'u1', generation, '{"old":true}', 60), false)
  t.equal(await redis.get(entitlementsCacheKey(prefix, 'u1')), null, 'stale row not cached')

  const [, fresh] = await cachedEntitlement(redis, prefix, 'u1')
  t.equal(await cacheIfUnchanged(redis, prefix, 'u1', fresh, '{"new":true}', 60), true)
  t.same(await cachedEntitlement(redis, prefix, 'u1'), ['{"new":true}', fresh], 'a reader after the invalidation caches')
  t.ok(await redis.ttl(entitlementsCacheKey(prefix, 'u1')) > 0, 'with a TTL')
})
