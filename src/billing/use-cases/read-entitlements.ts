import type { Redis } from 'ioredis'
import type { Db } from '../../db/client.js'
import { entitlementOf, type EntitlementRow } from '../../db/entitlements-repo.js'
import { NO_ENTITLEMENT, toEntitlement, type Entitlement, type EntitlementSnapshot } from '../entitlement-view.js'

export interface ReadEntitlementsDeps {
  db: Db
  redis: Redis
  prefix: string
  ttlSeconds: number
  now?: () => number
}

/** The read cache of entitlements. Whoever changes an entitlement row deletes its key after commit. */
export const entitlementsCacheKey = (prefix: string, userId: string) => `${prefix}:entitlements:${userId}`

export async function invalidateEntitlements (redis: Redis, prefix: string, userId: string): Promise<void> {
  await redis.del(entitlementsCacheKey(prefix, userId))
}

const seconds = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null)

function toSnapshot (row: EntitlementRow | null): EntitlementSnapshot {
  if (!row) return NO_ENTITLEMENT
  return {
    plan_id: row.planId,
    status: row.status,
    access: row.access,
    access_until: seconds(row.accessUntil),
    features: row.features,
    limits: row.limits,
    current_period_end: seconds(row.currentPeriodEnd),
    cancel_at_period_end: row.cancelAtPeriodEnd
  }
}

/**
 * Products call this on every request they serve: Redis first, Postgres on a miss (users with
 * nothing are cached too). A Redis outage degrades to Postgres reads instead of failing; the TTL
 * bounds staleness should an invalidation ever be lost.
 */
export async function readEntitlements (deps: ReadEntitlementsDeps, userId: string): Promise<Entitlement> {
  const now = deps.now?.() ?? Date.now()
  const key = entitlementsCacheKey(deps.prefix, userId)
  const cached = await deps.redis.get(key).catch(() => null)
  let snapshot: EntitlementSnapshot
  if (cached) {
    snapshot = JSON.parse(cached) as EntitlementSnapshot
  } else {
    snapshot = toSnapshot(await entitlementOf(deps.db, userId))
    await deps.redis.set(key, JSON.stringify(snapshot), 'EX', deps.ttlSeconds).catch(() => {})
  }
  return toEntitlement(userId, snapshot, Math.floor(now / 1000))
}
