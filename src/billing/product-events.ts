import type { PendingChange, SubscriptionRecord } from './apply-records.js'
import type { Plan } from './plans.js'
import type { EntitlementSnapshot } from './entitlement-view.js'

/**
 * Which events the product hears of a change: pure, no clock, no I/O. The apply decision
 * (apply-plan.ts) hands over a user's entitlement before and after a batch; this answers the events
 * to write to the outbox in the same transaction. Every event carries the user's whole entitlement
 * after the change, never a card or a Stripe secret: what `GET /entitlements` already tells the product.
 */

export const PRODUCT_EVENT_TYPES = [
  'entitlement.updated', 'checkout.completed', 'subscription.past_due',
  'trial.will_end', 'usage.threshold_reached', 'plan_change.scheduled'
] as const
export type ProductEventType = typeof PRODUCT_EVENT_TYPES[number]

/** The entitlement as an event carries it (snake_case, unix seconds, as `GET /entitlements`). */
export type EventEntitlement = Pick<EntitlementSnapshot, 'plan_id' | 'status' | 'access' | 'access_until' | 'features' | 'limits' | 'current_period_end' | 'cancel_at_period_end'>

/** An outbox row to write: the user's seq is given by the write, in the order of the list. */
export interface ProductEventWrite {
  userId: string
  type: ProductEventType
  payload: { type: ProductEventType, timestamp: string, data: Record<string, unknown> }
  /** An event that may happen once only whichever path sees it first (a checkout completes once). */
  onceKey: string | null
}

export const NO_EVENT_ENTITLEMENT: EventEntitlement = {
  plan_id: null, status: 'none', access: false, access_until: null, features: {}, limits: {}, current_period_end: null, cancel_at_period_end: false
}

/** The entitlement a subscription gives (`sub.access` already holds back a pending payment). */
export function eventEntitlement (sub: SubscriptionRecord | undefined, plan: Plan | undefined): EventEntitlement {
  if (!sub) return NO_EVENT_ENTITLEMENT
  return {
    plan_id: sub.planId,
    status: sub.status,
    access: sub.access,
    access_until: sub.accessUntil,
    features: plan?.features ?? {},
    limits: plan?.limits ?? {},
    current_period_end: sub.currentPeriodEnd,
    cancel_at_period_end: sub.cancelAtPeriodEnd
  }
}

/**
 * One event of any type, for the branches that raise the others (trial.will_end,
 * usage.threshold_reached, plan_change.scheduled): `at` is the Stripe time (unix seconds) of the cause.
 */
export function productEvent (type: ProductEventType, userId: string, entitlement: EventEntitlement, at: number, extra: Record<string, unknown> = {}, onceKey: string | null = null): ProductEventWrite {
  return { userId, type, onceKey, payload: { type, timestamp: new Date(at * 1000).toISOString(), data: { user_id: userId, entitlement, ...extra } } }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** The fields whose change the product hears of as `entitlement.updated`, in this order. */
const WATCHED = ['access', 'plan_id', 'status', 'features', 'limits', 'cancel_at_period_end'] as const

/** Which watched fields differ; features and limits compare by content, keys sorted. */
export function changedFields (before: EventEntitlement, after: EventEntitlement): string[] {
  const sorted = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)))
  return WATCHED.filter(k => (k === 'features' || k === 'limits' ? !same(sorted(before[k]), sorted(after[k])) : before[k] !== after[k]))
}

export interface EntitlementChange {
  userId: string
  before: EventEntitlement
  after: EventEntitlement
  /** Checkouts of this user that completed in the batch. */
  checkouts: Array<{ sessionId: string, planId: string }>
  /** Stripe time of the newest event of the batch for this user (unix seconds). */
  at: number
}

/**
 * The events of one user's change, in the order they are delivered: the checkout first (it is why
 * the rest happened), then the entitlement, then a payment trouble. None when nothing the product
 * sees changed: a renewal that only moves the period end, or an event applied a second time.
 */
export function decideProductEvents (c: EntitlementChange): ProductEventWrite[] {
  const events: ProductEventWrite[] = []
  for (const checkout of c.checkouts) {
    events.push(productEvent('checkout.completed', c.userId, c.after, c.at, { checkout: { session_id: checkout.sessionId, plan_id: checkout.planId } }, `checkout:${checkout.sessionId}`))
  }
  const changed = changedFields(c.before, c.after)
  if (changed.length > 0) {
    events.push(productEvent('entitlement.updated', c.userId, c.after, c.at, { changed, previous: c.before }))
  }
  if (c.after.status === 'past_due' && c.before.status !== 'past_due') {
    events.push(productEvent('subscription.past_due', c.userId, c.after, c.at))
  }
  return events
}

/**
 * `plan_change.scheduled` when the pending change of the user's subscription differs from what was
 * stored: a change scheduled, or replaced by another plan or time. One gone (canceled, released by a
 * cancellation, or taken effect) is told too, as `pending_change: null`, so the latest event of this
 * type always tells what is pending; one that took effect follows its `entitlement.updated`.
 */
export function decidePlanChange (userId: string, before: PendingChange | null, after: PendingChange | null, entitlement: EventEntitlement, at: number): ProductEventWrite[] {
  // By field: a row read back from Postgres (jsonb) holds its keys in another order.
  if (before?.plan_id === after?.plan_id && before?.at === after?.at) return []
  return [productEvent('plan_change.scheduled', userId, entitlement, at, { pending_change: after && { plan_id: after.plan_id, at: after.at } })]
}

/**
 * `trial.will_end`, once per trial (the key of its email): Stripe may send the notice again under
 * another event id. Whether a card is on file, never which.
 */
export function trialWillEndEvent (userId: string, entitlement: EventEntitlement, at: number, notice: { once: string, trialEnd: number | null, hasCard: boolean }): ProductEventWrite {
  return productEvent('trial.will_end', userId, entitlement, at, { trial_end: notice.trialEnd, has_card: notice.hasCard }, notice.once)
}
