import type Stripe from 'stripe'
import type { CustomerState, Needs, StripeReads, TestClockRecord } from '../billing/apply-records.js'
import { SUBSCRIPTION_EXPAND, toSubscriptionState } from './subscription-state.js'

/** Reads run this many at a time: a batch may need dozens, Stripe's rate limit is per account. */
const PARALLEL = 8

async function inParallel<T> (items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await fn(next)
  }))
}

export function toCustomerState (c: Stripe.Customer | Stripe.DeletedCustomer): CustomerState {
  if (c.deleted) return { id: c.id, email: null, userId: null, testClock: null }
  const clock = c.test_clock
  return { id: c.id, email: c.email ?? null, userId: c.metadata?.user_id || null, testClock: typeof clock === 'string' ? clock : clock?.id ?? null }
}

export const toTestClock = (c: Stripe.TestHelpers.TestClock): TestClockRecord => ({ id: c.id, frozenTime: c.frozen_time })

/** Object types whose payload Tollgate reads, and how to read each again in the pinned version. */
const RETRIEVE: Record<string, (stripe: Stripe, id: string) => Promise<unknown>> = {
  subscription: (stripe, id) => stripe.subscriptions.retrieve(id, { expand: SUBSCRIPTION_EXPAND }),
  invoice: (stripe, id) => stripe.invoices.retrieve(id),
  'checkout.session': (stripe, id) => stripe.checkout.sessions.retrieve(id),
  customer: (stripe, id) => stripe.customers.retrieve(id),
  'test_helpers.test_clock': (stripe, id) => stripe.testHelpers.testClocks.retrieve(id)
}

/**
 * The Stripe side of applying events, always outside any transaction: the reads the decision asks
 * for, and an event's object read again in the pinned API version.
 */
export function createStripeReads (stripe: Stripe) {
  return {
    /** Fills `into` with what `needs` names; subscriptions come expanded as toSubscriptionState needs them. */
    async fetch (needs: Needs, into: StripeReads): Promise<void> {
      await Promise.all([
        inParallel([...needs.subscriptions], async id => {
          into.subscriptions.set(id, toSubscriptionState(await stripe.subscriptions.retrieve(id, { expand: SUBSCRIPTION_EXPAND })))
        }),
        inParallel([...needs.customers], async id => { into.customers.set(id, toCustomerState(await stripe.customers.retrieve(id))) }),
        inParallel([...needs.testClocks], async id => { into.testClocks.set(id, toTestClock(await stripe.testHelpers.testClocks.retrieve(id))) })
      ])
    },

    /** The object an event names, as the API renders it now in the pinned version; null for a type Tollgate does not read. */
    async objectOf (object: Record<string, unknown>): Promise<Record<string, unknown> | null> {
      const retrieve = RETRIEVE[String(object.object)]
      if (!retrieve || typeof object.id !== 'string') return null
      return await retrieve(stripe, object.id) as Record<string, unknown>
    }
  }
}

export type StripeApplyReads = ReturnType<typeof createStripeReads>
