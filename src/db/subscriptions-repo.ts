import { inArray, or, sql } from 'drizzle-orm'
import type { SubscriptionRecord } from '../billing/apply-records.js'
import type { Db, Tx } from './client.js'
import { customers, subscriptions } from './schema.js'
import { at, lastPerKey, seconds, upsertMany } from './upsert.js'

type Row = typeof subscriptions.$inferSelect

const toRecord = (r: Row): SubscriptionRecord => ({
  id: r.stripeSubscriptionId,
  userId: r.userId,
  customerId: r.stripeCustomerId,
  planId: r.planId,
  priceId: r.priceId,
  status: r.status,
  currentPeriodStart: seconds(r.currentPeriodStart),
  currentPeriodEnd: seconds(r.currentPeriodEnd),
  cancelAtPeriodEnd: r.cancelAtPeriodEnd,
  access: r.access,
  accessUntil: seconds(r.accessUntil),
  startedAt: seconds(r.startedAt),
  endedAt: seconds(r.endedAt),
  stripeTime: r.stripeTime,
  paymentState: r.paymentState,
  paymentStateAt: r.paymentStateAt
})

/** What a batch may touch: these subscriptions, and every subscription of the users they, these users or these customers belong to. */
export async function subscriptionsAround (db: Db | Tx, keys: { subscriptionIds: string[], userIds: string[], customerIds: string[] }): Promise<SubscriptionRecord[]> {
  const { subscriptionIds: subs, userIds: users, customerIds: custs } = keys
  if (subs.length + users.length + custs.length === 0) return []
  const rows = await db.select().from(subscriptions).where(or(
    subs.length > 0 ? inArray(subscriptions.stripeSubscriptionId, subs) : undefined,
    subs.length > 0 ? inArray(subscriptions.userId, db.select({ u: subscriptions.userId }).from(subscriptions).where(inArray(subscriptions.stripeSubscriptionId, subs))) : undefined,
    users.length > 0 ? inArray(subscriptions.userId, users) : undefined,
    custs.length > 0 ? inArray(subscriptions.userId, db.select({ u: customers.userId }).from(customers).where(inArray(customers.stripeCustomerId, custs))) : undefined
  ))
  return rows.map(toRecord).sort((a, b) => (a.id < b.id ? -1 : 1))
}

const STATE_COLUMNS = [
  'userId', 'stripeCustomerId', 'planId', 'priceId', 'status', 'currentPeriodStart', 'currentPeriodEnd', 'cancelAtPeriodEnd',
  'access', 'accessUntil', 'startedAt', 'endedAt', 'paymentState', 'paymentStateAt', 'updatedAt'
] as const

/** Writes subscription states in one statement; the stored Stripe time only ever grows. */
export async function saveSubscriptions (tx: Tx, records: SubscriptionRecord[]): Promise<void> {
  if (records.length === 0) return
  const updatedAt = new Date()
  const rows = lastPerKey(records, r => r.id).map(r => ({
    stripeSubscriptionId: r.id,
    userId: r.userId,
    stripeCustomerId: r.customerId,
    planId: r.planId,
    priceId: r.priceId,
    status: r.status,
    currentPeriodStart: at(r.currentPeriodStart),
    currentPeriodEnd: at(r.currentPeriodEnd),
    cancelAtPeriodEnd: r.cancelAtPeriodEnd,
    access: r.access,
    accessUntil: at(r.accessUntil),
    startedAt: at(r.startedAt),
    endedAt: at(r.endedAt),
    stripeTime: r.stripeTime,
    paymentState: r.paymentState,
    paymentStateAt: r.paymentStateAt,
    updatedAt
  }))
  await upsertMany(tx, subscriptions, rows, {
    target: 'stripeSubscriptionId', set: STATE_COLUMNS, also: { stripeTime: sql`greatest(subscriptions.stripe_time, excluded.stripe_time)` }
  })
}
