/**
 * The Stripe event types Tollgate acts on (src/billing/lifecycle.ts decides what each means); every
 * other type is recorded as ignored. The reconciliation sweep asks Stripe for exactly these, and a
 * test checks the list against `decideEvent` so the two cannot drift apart. Stripe's `types[]`
 * filter takes at most 20 names and no wildcards, so the sweep asks in chunks.
 */
export const HANDLED_EVENT_TYPES = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'customer.updated',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'customer.subscription.trial_will_end',
  'subscription_schedule.created',
  'subscription_schedule.updated',
  'subscription_schedule.released',
  'subscription_schedule.canceled',
  'subscription_schedule.completed',
  'subscription_schedule.aborted',
  'invoice.paid',
  'invoice.payment_failed',
  'price.created',
  'price.updated',
  'price.deleted',
  'product.created',
  'product.updated',
  'product.deleted',
  'test_helpers.test_clock.created',
  'test_helpers.test_clock.advancing',
  'test_helpers.test_clock.ready'
] as const

/** Stripe's limit on names in one `types[]` filter. */
export const MAX_TYPES_PER_LIST = 20
