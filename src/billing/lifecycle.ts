/**
 * What each Stripe event means for Tollgate, decided from the event alone. Subscription state is
 * never taken from an event's snapshot: events arrive late, twice and out of order, so the use case
 * re-reads the subscription the event names and stores what Stripe holds now (see apply-stripe-event).
 * An event's own content only says which subscription to re-read, who the user is at checkout, and
 * which email it triggers.
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

export type EventDecision =
  | { kind: 'subscription', subscriptionId: string, checkout?: CheckoutBinding, emails: EmailIntent[] }
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
    return { kind: 'subscription', subscriptionId: String(object.id), emails }
  }
  if (event.type === 'invoice.paid' || event.type === 'invoice.payment_failed') {
    const subscriptionId = invoiceSubscription(object)
    if (!subscriptionId) return { kind: 'ignore', reason: 'invoice belongs to no subscription' }
    // One email per failed attempt: Stripe sends one payment_failed event per attempt, and the
    // outbox is unique per event.
    return { kind: 'subscription', subscriptionId, emails: event.type === 'invoice.payment_failed' ? [paymentFailed(object)] : [] }
  }
  if (event.type.startsWith('price.') || event.type.startsWith('product.')) return { kind: 'refresh-prices' }
  return { kind: 'ignore', reason: 'event type not handled' }
}
