import { eq } from 'drizzle-orm'
import type { EntitlementWrite } from '../billing/apply-records.js'
import type { Db, Tx } from './client.js'
import { customers, entitlements, testClocks } from './schema.js'
import { at, lastPerKey, upsertMany } from './upsert.js'

export type EntitlementRow = typeof entitlements.$inferSelect

/** A user's entitlement, and the time of the Stripe test clock their customer lives on (null: the host's). */
export async function entitlementOf (db: Db, userId: string): Promise<{ row: EntitlementRow | null, testClockTime: number | null }> {
  const [found] = await db.select({ row: entitlements, testClockTime: testClocks.frozenTime }).from(entitlements)
    .leftJoin(customers, eq(customers.userId, entitlements.userId))
    .leftJoin(testClocks, eq(testClocks.id, customers.testClockId))
    .where(eq(entitlements.userId, userId))
  return { row: found?.row ?? null, testClockTime: found?.testClockTime ?? null }
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
