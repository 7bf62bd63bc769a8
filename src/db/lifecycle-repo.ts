import { and, eq, sql } from 'drizzle-orm'
import type { AccessDecision, SubscriptionState } from '../billing/access.js'
import type { EmailIntent } from '../billing/lifecycle.js'
import type { Plan } from '../billing/plans.js'
import type { Db } from './client.js'
import { checkoutSessions, customers, emailOutbox, entitlements, stripeEvents, subscriptions } from './schema.js'

/** A transaction handle: every function here runs inside the event's one transaction. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

const at = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000))

/**
 * Serialises work on one key (a subscription, a user) until the transaction ends. Keys are
 * namespaced so a subscription id and a user id never share a lock.
 */
export async function lockKey (tx: Tx, namespace: string, key: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`${namespace}:${key}`}, 0))`)
}

export interface EventRecord {
  id: string
  type: string
  created: number
  receivedAt: Date
  payload: unknown
}

/**
 * Claims an event for this transaction. A second delivery, a retried job or a racing worker finds
 * the row and gets false (a racing insert waits on the key until the first commits). A `failed`
 * row is claimed again, so a replay from the dead-letter queue applies the event.
 */
export async function claimEvent (tx: Tx, e: EventRecord): Promise<boolean> {
  const rows = await tx.insert(stripeEvents).values({
    eventId: e.id, type: e.type, created: e.created, receivedAt: e.receivedAt, outcome: 'applied', payload: e.payload
  }).onConflictDoUpdate({
    target: stripeEvents.eventId,
    set: { outcome: 'applied', error: null },
    setWhere: sql`${stripeEvents.outcome} = 'failed'`
  }).returning({ eventId: stripeEvents.eventId })
  return rows.length > 0
}

export async function finishEvent (tx: Tx, eventId: string, outcome: 'applied' | 'ignored', userId: string | null, note: string | null): Promise<void> {
  await tx.update(stripeEvents).set({ outcome, userId, error: note, processedAt: new Date() }).where(eq(stripeEvents.eventId, eventId))
}

/** Outside any transaction: the event's work rolled back, the audit trail still shows why. */
export async function recordFailedEvent (db: Db, e: EventRecord, error: string): Promise<void> {
  await db.insert(stripeEvents).values({
    eventId: e.id, type: e.type, created: e.created, receivedAt: e.receivedAt, outcome: 'failed', error, processedAt: new Date(), payload: e.payload
  }).onConflictDoUpdate({
    target: stripeEvents.eventId,
    set: { error, processedAt: new Date() },
    setWhere: sql`${stripeEvents.outcome} = 'failed'`
  })
}

/** The user an applied event concerned, as recorded when it was applied. */
export async function eventUserOf (db: Db, eventId: string): Promise<string | null> {
  const [row] = await db.select({ userId: stripeEvents.userId }).from(stripeEvents).where(eq(stripeEvents.eventId, eventId))
  return row?.userId ?? null
}

/** The user a subscription belongs to when Stripe's metadata does not say: an earlier binding. */
export async function knownUserOf (tx: Tx, subscriptionId: string, customerId: string): Promise<string | null> {
  const [sub] = await tx.select({ userId: subscriptions.userId }).from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, subscriptionId))
  if (sub) return sub.userId
  const [cus] = await tx.select({ userId: customers.userId }).from(customers).where(eq(customers.stripeCustomerId, customerId))
  return cus?.userId ?? null
}

/**
 * Binds a user to the Stripe customer holding their current subscription: should a user ever hold
 * two customers (two checkouts racing), the choice follows the subscription, not the event order.
 */
export async function bindCustomer (tx: Tx, userId: string, customerId: string): Promise<void> {
  await tx.insert(customers).values({ userId, stripeCustomerId: customerId }).onConflictDoUpdate({
    target: customers.userId,
    set: { stripeCustomerId: customerId }
  })
}

export async function completeCheckoutSession (tx: Tx, s: { sessionId: string, userId: string, planId: string, subscriptionId: string, completedAt: number }): Promise<void> {
  const values = { status: 'complete', stripeSubscriptionId: s.subscriptionId, completedAt: at(s.completedAt) }
  await tx.insert(checkoutSessions).values({ sessionId: s.sessionId, userId: s.userId, planId: s.planId, ...values })
    .onConflictDoUpdate({ target: checkoutSessions.sessionId, set: values })
}

export async function saveSubscription (tx: Tx, s: SubscriptionState, userId: string, planId: string | null, decision: AccessDecision, eventCreated: number): Promise<void> {
  const state = {
    userId,
    stripeCustomerId: s.customerId,
    planId,
    priceId: s.priceId,
    status: s.status,
    currentPeriodStart: at(s.currentPeriodStart),
    currentPeriodEnd: at(s.currentPeriodEnd),
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    access: decision.access,
    accessUntil: at(decision.accessUntil),
    startedAt: at(s.startedAt),
    endedAt: at(s.endedAt),
    updatedAt: new Date()
  }
  await tx.insert(subscriptions).values({ stripeSubscriptionId: s.id, ...state, stripeTime: eventCreated }).onConflictDoUpdate({
    target: subscriptions.stripeSubscriptionId,
    set: { ...state, stripeTime: sql`greatest(${subscriptions.stripeTime}, excluded.stripe_time)` }
  })
}

export async function subscriptionsOf (tx: Tx, userId: string) {
  const rows = await tx.select().from(subscriptions).where(eq(subscriptions.userId, userId))
  return rows.map(row => ({
    id: row.stripeSubscriptionId,
    status: row.status,
    access: row.access,
    currentPeriodEnd: row.currentPeriodEnd ? row.currentPeriodEnd.getTime() / 1000 : null,
    row
  }))
}

type SubscriptionRow = typeof subscriptions.$inferSelect

/** The entitlement follows one subscription; its times come from Stripe, so replays write the same row. */
export async function saveEntitlement (tx: Tx, userId: string, sub: SubscriptionRow, plan: Plan | undefined): Promise<void> {
  const state = {
    planId: sub.planId,
    stripeSubscriptionId: sub.stripeSubscriptionId,
    status: sub.status,
    access: sub.access,
    accessUntil: sub.accessUntil,
    features: plan?.features ?? {},
    limits: plan?.limits ?? {},
    currentPeriodEnd: sub.currentPeriodEnd,
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
    grantedAt: sub.access ? sub.startedAt : null,
    revokedAt: sub.access ? null : sub.endedAt,
    updatedAt: new Date()
  }
  await tx.insert(entitlements).values({ userId, ...state }).onConflictDoUpdate({ target: entitlements.userId, set: state })
}

export async function emailOf (tx: Tx, userId: string): Promise<string | null> {
  const [row] = await tx.select({ email: customers.email }).from(customers).where(eq(customers.userId, userId))
  return row?.email ?? null
}

export async function rememberEmail (tx: Tx, userId: string, email: string): Promise<void> {
  await tx.update(customers).set({ email }).where(and(eq(customers.userId, userId), sql`${customers.email} is null`))
}

/** One row per (event, template): a redelivered event never queues a second email. */
export async function queueEmail (tx: Tx, eventId: string, userId: string, to: string, intent: EmailIntent): Promise<void> {
  await tx.insert(emailOutbox).values({ eventId, template: intent.template, userId, to, data: intent.data }).onConflictDoNothing()
}

/** Outbox rows of an event still waiting for a send job: every run re-queues them (jobId dedupes). */
export async function pendingEmailsOf (db: Db, eventId: string): Promise<number[]> {
  const rows = await db.select({ id: emailOutbox.id }).from(emailOutbox).where(and(eq(emailOutbox.eventId, eventId), eq(emailOutbox.status, 'pending')))
  return rows.map(r => r.id)
}
