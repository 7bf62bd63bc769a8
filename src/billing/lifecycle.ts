/**
 * What each Stripe event means for Tollgate, decided from the event alone: which subscription,
 * customer or test clock it concerns, the subscription's state as of the event when the event
 * carries it (`snapshot`), who the user is, and which email it triggers. Events arrive late, twice
 * and out of order; `apply-plan.ts` decides from Stripe times whether what an event carries is newer
 * than what is stored, and asks for a read from Stripe when it cannot tell.
 */

export type EmailTemplate = 'payment_failed' | 'trial_will_end' | 'checkout_payment_failed' | 'usage_threshold'

export interface EmailIntent {
  template: EmailTemplate
  data: Record<string, unknown>
  /**
   * What makes the email one of a kind when that is more than its event: a trial's notice is sent
   * once per trial, whichever of its events (Stripe may send it again) comes first.
   */
  once?: string
}

/**
 * Where a checkout stands: `complete` provisions (paid, nothing to pay, or an asynchronous payment
 * that succeeded); `payment_pending` waits for an asynchronous payment (a bank debit); `payment_failed`
 * ends it without access.
 */
export type CheckoutState = 'payment_pending' | 'complete' | 'payment_failed'

/** Checkout binds the product's user to a Stripe customer and subscription. */
export interface CheckoutBinding {
  sessionId: string
  userId: string
  customerId: string
  planId: string | null
  state: CheckoutState
}

export interface SubscriptionDecision {
  kind: 'subscription'
  subscriptionId: string
  /** The subscription as of the event, from a `customer.subscription.*` event that carries it whole. */
  snapshot: Record<string, unknown> | null
  /** The user as the event names it (metadata.user_id, the checkout's client_reference_id), if it does. */
  userId: string | null
  customerId: string | null
  checkout?: CheckoutBinding
  emails: EmailIntent[]
}

/** A customer changed: its address and test clock are read from Stripe (events carry no personal data). */
export interface CustomerDecision {
  kind: 'customer'
  customerId: string
  userId: string | null
}

export interface TestClockDecision {
  kind: 'test-clock'
  clockId: string
  frozenTime: number
}

export type EventDecision =
  | SubscriptionDecision
  | CustomerDecision
  | TestClockDecision
  | { kind: 'refresh-prices' }
  | { kind: 'ignore', reason: string }

export interface LifecycleEvent {
  id: string
  type: string
  data: { object: Record<string, unknown> }
}

type Obj = Record<string, any>

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null)
const idOf = (v: unknown): string | null => str(v) ?? (v && typeof v === 'object' ? str((v as Obj).id) : null)

const SUBSCRIPTION_EVENTS = new Set([
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'customer.subscription.trial_will_end'
])

const CHECKOUT_EVENTS = new Set([
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed'
])

const PAID = new Set(['paid', 'no_payment_required'])

/** A schedule's events say nothing Tollgate stores: its subscription is read again, schedule expanded. */
const SCHEDULE_EVENTS = new Set([
  'subscription_schedule.created',
  'subscription_schedule.updated',
  'subscription_schedule.released',
  'subscription_schedule.canceled',
  'subscription_schedule.completed',
  'subscription_schedule.aborted'
])

/** The trial's end and what it will cost: the price of its item, or no card to charge. */
function trialWillEnd (sub: Obj): EmailIntent {
  const item = sub.items?.data?.[0]
  const unit = typeof item?.price?.unit_amount === 'number' ? item.price.unit_amount : null
  return {
    template: 'trial_will_end',
    once: `trial_will_end:${String(sub.id)}:${String(sub.trial_end ?? '')}`,
    data: {
      subscription_id: sub.id,
      trial_end: sub.trial_end ?? null,
      amount: unit === null ? null : unit * (item.quantity ?? 1),
      currency: item?.price?.currency ?? null,
      has_card: Boolean(sub.default_payment_method ?? sub.default_source)
    }
  }
}

/** An invoice names its subscription under `parent.subscription_details` since the 2025 API versions. */
function invoiceSubscription (invoice: Obj): string | null {
  return idOf(invoice.parent?.subscription_details?.subscription)
}

function checkoutState (type: string, session: Obj): CheckoutState {
  if (type === 'checkout.session.async_payment_failed') return 'payment_failed'
  if (type === 'checkout.session.async_payment_succeeded') return 'complete'
  return PAID.has(session.payment_status) ? 'complete' : 'payment_pending'
}

function checkout (type: string, session: Obj): EventDecision {
  if (session.mode !== 'subscription') return { kind: 'ignore', reason: `checkout in ${String(session.mode)} mode` }
  const userId = str(session.client_reference_id) ?? str(session.metadata?.user_id)
  const customerId = idOf(session.customer)
  const subscriptionId = idOf(session.subscription)
  if (!userId) return { kind: 'ignore', reason: 'checkout session names no user' }
  if (!customerId || !subscriptionId) return { kind: 'ignore', reason: 'checkout session has no subscription' }
  const planId = str(session.metadata?.plan_id)
  const state = checkoutState(type, session)
  return {
    kind: 'subscription',
    subscriptionId,
    snapshot: null,
    userId,
    customerId,
    checkout: { sessionId: String(session.id), userId, customerId, planId, state },
    emails: state === 'payment_failed' ? [{ template: 'checkout_payment_failed', data: { session_id: session.id, plan_id: planId } }] : []
  }
}

function paymentFailed (invoice: Obj): EmailIntent {
  return {
    template: 'payment_failed',
    data: {
      invoice_id: invoice.id,
      amount_due: invoice.amount_due,
      currency: invoice.currency,
      attempt_count: invoice.attempt_count,
      next_payment_attempt: invoice.next_payment_attempt ?? null,
      hosted_invoice_url: invoice.hosted_invoice_url ?? null
    }
  }
}

export function decideEvent (event: LifecycleEvent): EventDecision {
  const object = event.data.object as Obj
  if (CHECKOUT_EVENTS.has(event.type)) return checkout(event.type, object)
  if (SUBSCRIPTION_EVENTS.has(event.type)) {
    const emails: EmailIntent[] = event.type === 'customer.subscription.trial_will_end' ? [trialWillEnd(object)] : []
    // A whole subscription has its status and items; a bare `{id}` (an operator's sync) only names one.
    const whole = typeof object.status === 'string' && Array.isArray(object.items?.data)
    return {
      kind: 'subscription',
      subscriptionId: String(object.id),
      snapshot: whole ? object : null,
      userId: str(object.metadata?.user_id),
      customerId: idOf(object.customer),
      emails
    }
  }
  if (SCHEDULE_EVENTS.has(event.type)) {
    const subscriptionId = idOf(object.subscription) ?? idOf(object.released_subscription)
    if (!subscriptionId) return { kind: 'ignore', reason: 'schedule has no subscription yet' }
    return { kind: 'subscription', subscriptionId, snapshot: null, userId: str(object.metadata?.user_id), customerId: idOf(object.customer), emails: [] }
  }
  if (event.type === 'invoice.paid' || event.type === 'invoice.payment_failed') {
    const subscriptionId = invoiceSubscription(object)
    if (!subscriptionId) return { kind: 'ignore', reason: 'invoice belongs to no subscription' }
    // One email per failed attempt: Stripe sends one payment_failed event per attempt, and the
    // outbox is unique per event.
    return {
      kind: 'subscription',
      subscriptionId,
      snapshot: null,
      userId: str(object.parent?.subscription_details?.metadata?.user_id),
      customerId: idOf(object.customer),
      emails: event.type === 'invoice.payment_failed' ? [paymentFailed(object)] : []
    }
  }
  // A new customer's address and test clock come with its creation (ensure-customer) or its subscription.
  if (event.type === 'customer.updated') {
    const customerId = str(object.id)
    if (!customerId) return { kind: 'ignore', reason: 'customer event names no customer' }
    return { kind: 'customer', customerId, userId: str(object.metadata?.user_id) }
  }
  if (event.type.startsWith('test_helpers.test_clock.') && event.type !== 'test_helpers.test_clock.deleted') {
    const clockId = str(object.id)
    if (!clockId || typeof object.frozen_time !== 'number') return { kind: 'ignore', reason: 'test clock event without a frozen time' }
    return { kind: 'test-clock', clockId, frozenTime: object.frozen_time }
  }
  if (event.type.startsWith('price.') || event.type.startsWith('product.')) return { kind: 'refresh-prices' }
  return { kind: 'ignore', reason: 'event type not handled' }
}
