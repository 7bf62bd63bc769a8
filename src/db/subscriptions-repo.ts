import { sql } from 'drizzle-orm'
import type { SubscriptionRecord } from '../billing/apply-records.js'
import type { Db, Tx } from './client.js'
import { subscriptions } from './schema.js'
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
  paymentStateAt: r.paymentStateAt,
  trialEnd: seconds(r.trialEnd),
  pendingChange: r.pendingChange,
  discount: r.discount
})

export interface AroundKeys { subscriptionIds: string[], userIds: string[], customerIds: string[] }

const list = (ids: string[]) => sql`(select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`

/**
 * The users a batch concerns: those it names, those its subscriptions and customers are bound to.
 * A common table expression for the queries below, so each is one indexed statement.
 */
export function usersAround (keys: AroundKeys) {
  return sql`with u as (
    select user_id from subscriptions where stripe_subscription_id in ${list(keys.subscriptionIds)}
    union select jsonb_array_elements_text(${JSON.stringify(keys.userIds)}::jsonb)
    union select user_id from customers where stripe_customer_id in ${list(keys.customerIds)})`
}

/** What a batch may touch: these subscriptions, and every subscription of the users it concerns. */
export async function subscriptionsAround (db: Db | Tx, keys: AroundKeys): Promise<SubscriptionRecord[]> {
  if (keys.subscriptionIds.length + keys.userIds.length + keys.customerIds.length === 0) return []
  const rows = await db.execute<Record<string, unknown>>(sql`${usersAround(keys)}
    select * from subscriptions where stripe_subscription_id in ${list(keys.subscriptionIds)}
    union select s.* from subscriptions s join u on s.user_id = u.user_id`)
  return [...rows].map(fromSql).map(toRecord).sort((a, b) => (a.id < b.id ? -1 : 1))
}

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string))

/** A row as `select *` returns it (column names, timestamps as text) in drizzle's shape. */
function fromSql (r: Record<string, unknown>): Row {
  return {
    stripeSubscriptionId: r.stripe_subscription_id as string,
    userId: r.user_id as string,
    stripeCustomerId: r.stripe_customer_id as string,
    planId: r.plan_id as string | null,
    priceId: r.price_id as string | null,
    status: r.status as string,
    currentPeriodStart: date(r.current_period_start),
    currentPeriodEnd: date(r.current_period_end),
    cancelAtPeriodEnd: r.cancel_at_period_end as boolean,
    access: r.access as boolean,
    accessUntil: date(r.access_until),
    startedAt: date(r.started_at),
    endedAt: date(r.ended_at),
    stripeTime: Number(r.stripe_time),
    paymentState: r.payment_state as Row['paymentState'],
    paymentStateAt: r.payment_state_at === null ? null : Number(r.payment_state_at),
    trialEnd: date(r.trial_end),
    pendingChange: r.pending_change as Row['pendingChange'],
    discount: r.discount as Row['discount'],
    updatedAt: date(r.updated_at)!
  }
}

const STATE_COLUMNS = [
  'userId', 'stripeCustomerId', 'planId', 'priceId', 'status', 'currentPeriodStart', 'currentPeriodEnd', 'cancelAtPeriodEnd',
  'access', 'accessUntil', 'startedAt', 'endedAt', 'paymentState', 'paymentStateAt',
  'trialEnd', 'pendingChange', 'discount', 'updatedAt'
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
    trialEnd: at(r.trialEnd),
    pendingChange: r.pendingChange,
    discount: r.discount,
    updatedAt
  }))
  await upsertMany(tx, subscriptions, rows, {
    target: 'stripeSubscriptionId', set: STATE_COLUMNS, also: { stripeTime: sql`greatest(subscriptions.stripe_time, excluded.stripe_time)` }
  })
}
