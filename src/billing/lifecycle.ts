/**
 * What each Stripe event means for Tollgate, decided from the event alone: which subscription it
 * concerns, the subscription's state as of the event when the event carries it (`snapshot`), who the
 * user is, and which email it triggers. Events arrive late, twice and out of order; the use case
 * (apply-stripe-event) decides from Stripe times whether a snapshot is newer than what is stored, and
 * re-reads the subscription from Stripe when it cannot tell.
 */

export type EmailTemplate = 'payment_failed' | 'trial_will_end'

export interface EmailIntent {
  template: EmailTemplate
  data: Record<string, unknown>
}

/** Checkout binds the product's user to a Stripe customer and subscription. */
export interface CheckoutBinding {
  sessionId: string
  userId: string
  customerId: string
  planId: string | null
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

export type EventDecision =
  | SubscriptionDecision
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

/** An invoice names its subscription under `parent.subscription_details` since the 2025 API versions. */
function invoiceSubscription (invoice: Obj): string | null {
  return idOf(invoice.parent?.subscription_details?.subscription)
}

function checkout (session: Obj): EventDecision {
  if (session.mode !== 'subscription') return { kind: 'ignore', reason: `checkout in ${String(session.mode)} mode` }
  const userId = str(session.client_reference_id) ?? str(session.metadata?.user_id)
  const customerId = idOf(session.customer)
  const subscriptionId = idOf(session.subscription)
  if (!userId) return { kind: 'ignore', reason: 'checkout session names no user' }
  if (!customerId || !subscriptionId) return { kind: 'ignore', reason: 'checkout session has no subscription' }
  return {
    kind: 'subscription',
    subscriptionId,
    snapshot: null,
    userId,
    customerId,
    checkout: { sessionId: String(session.id), userId, customerId, planId: str(session.metadata?.plan_id) },
    emails: []
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
  if (event.type === 'checkout.session.completed') return checkout(object)
  if (SUBSCRIPTION_EVENTS.has(event.type)) {
    const emails: EmailIntent[] = event.type === 'customer.subscription.trial_will_end'
      ? [{ template: 'trial_will_end', data: { subscription_id: object.id, trial_end: object.trial_end ?? null } }]
      : []
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
  if (event.type.startsWith('price.') || event.type.startsWith('product.')) return { kind: 'refresh-prices' }
  return { kind: 'ignore', reason: 'event type not handled' }
}
