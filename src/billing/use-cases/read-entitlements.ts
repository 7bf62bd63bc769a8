import type { Db } from '../../db/client.js'
import { entitlementOf, type StoredEntitlement } from '../../db/entitlements-repo.js'
import { hostClock, type Clock } from '../clock.js'
import { NO_ENTITLEMENT, toEntitlement, type Entitlement, type EntitlementSnapshot } from '../entitlement-view.js'
import type { RedisClient } from '../../queue/connections.js'

export interface ReadEntitlementsDeps {
  db: Db
  redis: RedisClient
  prefix: string
  ttlSeconds: number
  now?: Clock
}

/** The read cache of entitlements. Whoever changes an entitlement row invalidates it after commit. */
export const entitlementsCacheKey = (prefix: string, userId: string) => `${prefix}:entitlements:${userId}`
/** Bumped by every invalidation, so a reader that loaded the row before it cannot cache that row after it. */
const generationKey = (prefix: string, userId: string) => `${prefix}:entitlements-gen:${userId}`
const GENERATION_TTL_SECONDS = 86_400

/** One round trip for many users: each user's generation moves on and their cached row goes. */
export async function invalidateEntitlementsOf (redis: RedisClient, prefix: string, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return
  const tx = redis.multi()
  for (const userId of userIds) {
    tx.incr(generationKey(prefix, userId)).expire(generationKey(prefix, userId), GENERATION_TTL_SECONDS).del(entitlementsCacheKey(prefix, userId))
  }
  await tx.exec()
}

// SET only if the generation is still the one seen before Postgres was read.
const SET_IF_GENERATION = `
local current = redis.call('GET', KEYS[2]) or ''
if current == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end
return 0`

/** Caches `value` unless an invalidation happened since `generation` was read; true when cached. */
export async function cacheIfUnchanged (redis: RedisClient, prefix: string, userId: string, generation: string | null, value: string, ttlSeconds: number): Promise<boolean> {
  const done = await redis.eval(SET_IF_GENERATION, 2, entitlementsCacheKey(prefix, userId), generationKey(prefix, userId), generation ?? '', value, ttlSeconds)
  return done === 1
}

/** The cached snapshot (if any) and the generation it belongs to, in one round trip. */
export async function cachedEntitlement (redis: RedisClient, prefix: string, userId: string): Promise<[string | null, string | null]> {
  const [value, generation] = await redis.mget(entitlementsCacheKey(prefix, userId), generationKey(prefix, userId))
  return [value ?? null, generation ?? null]
}

export type CacheRead = Promise<readonly [string | null, string | null]>

/**
 * Starts the cache read of a user's entitlement. It never rejects (a Redis outage reads as a miss),
 * so it may be started early and then dropped unread, e.g. when the request is rate limited.
 */
export function readCachedEntitlement (deps: ReadEntitlementsDeps, userId: string): CacheRead {
  return cachedEntitlement(deps.redis, deps.prefix, userId).catch(() => [null, null] as const)
}

const seconds = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null)

export function toSnapshot ({ row, testClockTime, periodStart }: StoredEntitlement): EntitlementSnapshot {
  if (!row) return NO_ENTITLEMENT
  return {
    plan_id: row.planId,
    status: row.status,
    access: row.access,
    access_until: seconds(row.accessUntil),
    features: row.features,
    limits: row.limits,
    current_period_end: seconds(row.currentPeriodEnd),
    current_period_start: seconds(periodStart),
    cancel_at_period_end: row.cancelAtPeriodEnd,
    trial_end: seconds(row.trialEnd),
    pending_change: row.pendingChange,
    discount: row.discount,
    test_clock_time: testClockTime
  }
}

/**
 * Products call this on every request they serve: Redis first, Postgres on a miss (users with
 * nothing are cached too). A miss caches what it read only if no invalidation came in between, so a
 * slow reader cannot put back a row the worker just replaced. A Redis outage degrades to Postgres
 * reads instead of failing; the TTL bounds staleness should an invalidation ever be lost.
 * `cacheRead` is the cache read if the caller started it already (`readCachedEntitlement`).
 */
export async function readEntitlements (deps: ReadEntitlementsDeps, userId: string, cacheRead: CacheRead = readCachedEntitlement(deps, userId)): Promise<Entitlement> {
  return toEntitlement(userId, await readSnapshot(deps, userId, cacheRead), deps.now ?? hostClock)
}

/** The stored entitlement as cached, before access is decided: what usage calls count against. */
export async function readSnapshot (deps: ReadEntitlementsDeps, userId: string, cacheRead: CacheRead = readCachedEntitlement(deps, userId)): Promise<EntitlementSnapshot> {
  const [cached, generation] = await cacheRead
  if (cached) return JSON.parse(cached) as EntitlementSnapshot
  const snapshot = toSnapshot(await entitlementOf(deps.db, userId))
  await cacheIfUnchanged(deps.redis, deps.prefix, userId, generation, JSON.stringify(snapshot), deps.ttlSeconds).catch(() => false)
  return snapshot
}
