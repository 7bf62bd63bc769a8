import type Stripe from 'stripe'
import type { SubscriptionState } from '../billing/access.js'

const idOf = (v: string | { id: string } | null | undefined) => (typeof v === 'string' ? v : v?.id ?? null)

/** The item that carries the plan: not one of the metered items that bill overage. */
export function planItemOf (sub: Stripe.Subscription): Stripe.SubscriptionItem | undefined {
  return sub.items.data.find(i => i.price.recurring?.usage_type !== 'metered') ?? sub.items.data[0]
}

/**
 * Maps a subscription as the pinned API version returns it: periods live on the subscription item
 * (moved there from the subscription in 2025). `latest_invoice` must be expanded for a past_due
 * subscription to know when its grace period started; otherwise the period start stands in.
 */
export function toSubscriptionState (sub: Stripe.Subscription): SubscriptionState {
  const item = planItemOf(sub)
  const invoice = typeof sub.latest_invoice === 'object' ? sub.latest_invoice : null
  const unpaid = invoice && invoice.status === 'open' ? invoice : null
  return {
    id: sub.id,
    customerId: idOf(sub.customer)!,
    userId: sub.metadata?.user_id || null,
    priceId: item?.price.id ?? null,
    price: item ? { planId: item.price.metadata?.tollgate_plan_id || null, productId: idOf(item.price.product), lookupKey: item.price.lookup_key ?? null } : null,
    status: sub.status,
    currentPeriodStart: item?.current_period_start ?? null,
    currentPeriodEnd: item?.current_period_end ?? null,
    cancelAtPeriodEnd: sub.cancel_at_period_end,
    cancelAt: sub.cancel_at ?? null,
    startedAt: sub.start_date,
    endedAt: sub.ended_at ?? null,
    pastDueSince: sub.status === 'past_due'
      ? (unpaid ? (unpaid.status_transitions?.finalized_at ?? unpaid.created) : item?.current_period_start ?? null)
      : null,
    testClock: idOf(sub.test_clock)
  }
}
