import { eq, inArray } from 'drizzle-orm'
import type { EntitlementWrite } from '../billing/apply-records.js'
import { NO_EVENT_ENTITLEMENT, type EventEntitlement } from '../billing/product-events.js'
import type { Db, Tx } from './client.js'
import { customers, entitlements, subscriptions, testClocks } from './schema.js'
import { at, lastPerKey, upsertMany } from './upsert.js'

export type EntitlementRow = typeof entitlements.$inferSelect

export interface StoredEntitlement {
  row: EntitlementRow | null
  /** The time of the Stripe test clock the user's customer lives on (null: the host's). */
  testClockTime: number | null
  /** The start of the followed subscription's current period, where usage windows begin. */
  periodStart: Date | null
}

/** A user's entitlement, with their clock and the period its subscription is in. */
export async function entitlementOf (db: Db, userId: string): Promise<StoredEntitlement> {
  const [found] = await db.select({ row: entitlements, testClockTime: testClocks.frozenTime, periodStart: subscriptions.currentPeriodStart }).from(entitlements)
    .leftJoin(customers, eq(customers.userId, entitlements.userId))
    .leftJoin(testClocks, eq(testClocks.id, customers.testClockId))
    .leftJoin(subscriptions, eq(subscriptions.stripeSubscriptionId, entitlements.stripeSubscriptionId))
    .where(eq(entitlements.userId, userId))
  return { row: found?.row ?? null, testClockTime: found?.testClockTime ?? null, periodStart: found?.periodStart ?? null }
}

const seconds = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null)

/** These users' entitlements as product events carry them; a user without one has none. */
export async function eventEntitlementsOf (tx: Tx, userIds: string[]): Promise<Map<string, EventEntitlement>> {
  const rows = userIds.length === 0 ? [] : await tx.select().from(entitlements).where(inArray(entitlements.userId, userIds))
  const found = new Map(rows.map(r => [r.userId, {
    plan_id: r.planId,
    status: r.status,
    access: r.access,
    access_until: seconds(r.accessUntil),
    features: r.features,
    limits: r.limits,
    current_period_end: seconds(r.currentPeriodEnd),
    cancel_at_period_end: r.cancelAtPeriodEnd
  }]))
  return new Map(userIds.map(u => [u, found.get(u) ?? NO_EVENT_ENTITLEMENT]))
}

const COLUMNS = [
  'planId', 'stripeSubscriptionId', 'status', 'access', 'accessUntil', 'features', 'limits', 'currentPeriodEnd', 'cancelAtPeriodEnd',
  'trialEnd', 'pendingChange', 'discount', 'grantedAt', 'revokedAt', 'updatedAt'
] as const

/** Each entitlement follows one subscription; its times come from Stripe, so replays write the same row. */
export async function saveEntitlements (tx: Tx, grants: EntitlementWrite[]): Promise<void> {
  if (grants.length === 0) return
  const updatedAt = new Date()
  const rows = lastPerKey(grants, g => g.userId).map(({ userId, sub, plan }) => ({
    userId,
    planId: sub.planId,
    stripeSubscriptionId: sub.id,
    status: sub.status,
    access: sub.access,
    accessUntil: at(sub.accessUntil),
    features: plan?.features ?? {},
    limits: plan?.limits ?? {},
    currentPeriodEnd: at(sub.currentPeriodEnd),
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
    trialEnd: at(sub.trialEnd),
    pendingChange: sub.pendingChange,
    discount: sub.discount,
    grantedAt: sub.access ? at(sub.startedAt) : null,
    revokedAt: sub.access ? null : at(sub.endedAt),
    updatedAt
  }))
  await upsertMany(tx, entitlements, rows, { target: 'userId', set: COLUMNS })
}
