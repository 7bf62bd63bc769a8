import type Stripe from 'stripe'
import type { SubscriptionState } from '../billing/access.js'
import type { Discount } from '../billing/apply-records.js'
import type { PriceRef } from '../billing/plans.js'

const idOf = (v: string | { id: string } | null | undefined) => (typeof v === 'string' ? v : v?.id ?? null)

/** What a subscription is read with: the grace start, its schedule's phases with their prices, its discount's coupon. */
export const SUBSCRIPTION_EXPAND = ['latest_invoice', 'schedule.phases.items.price', 'discounts.source.coupon']

/** What identifies a price's plan; a bare id identifies none. */
export const priceRefOf = (price: string | Stripe.Price | Stripe.DeletedPrice): PriceRef => (typeof price === 'object' && !price.deleted
  ? { planId: price.metadata?.tollgate_plan_id || null, productId: idOf(price.product), lookupKey: price.lookup_key ?? null }
  : { planId: null, productId: null, lookupKey: null })

/**
 * The price the schedule moves the subscription to when its current phase ends. A schedule that is
 * only an id (a payload) is unknown: undefined. A next phase on the same price changes no plan.
 */
function pendingOf (sub: Stripe.Subscription, priceId: string | null): SubscriptionState['pending'] {
  const schedule = sub.schedule
  if (!schedule) return null
  if (typeof schedule === 'string') return undefined
  if (schedule.status !== 'active' && schedule.status !== 'not_started') return null
  const boundary = schedule.current_phase?.end_date
  const next = schedule.phases.find(p => p.start_date === boundary)
  // The plan's item, not a metered overage item beside it.
  const price = (next?.items.find(i => typeof i.price === 'string' || i.price.deleted || i.price.recurring?.usage_type !== 'metered') ?? next?.items[0])?.price
  if (!next || !price) return null
  const id = typeof price === 'string' ? price : price.id
  if (id === priceId) return null
  return { price: priceRefOf(price), priceId: id, at: next.start_date }
}

/** The first discount's terms; undefined while its coupon is only an id. */
function discountOf (sub: Stripe.Subscription): Discount | null | undefined {
  const first = sub.discounts?.[0]
  if (!first) return null
  if (typeof first === 'string') return undefined
  const coupon = first.source?.coupon
  if (!coupon || typeof coupon === 'string') return undefined
  return { percent_off: coupon.percent_off ?? null, amount_off: coupon.amount_off ?? null, currency: coupon.currency ?? null, ends_at: first.end ?? null }
}

/** The item that carries the plan: not one of the metered items that bill overage. */
export function planItemOf (sub: Stripe.Subscription): Stripe.SubscriptionItem | undefined {
  return sub.items.data.find(i => i.price.recurring?.usage_type !== 'metered') ?? sub.items.data[0]
}

/**
 * Maps a subscription as the pinned API version returns it: periods live on the subscription item
 * (moved there from the subscription in 2025). `latest_invoice` must be expanded for a past_due
 * subscription to know when its grace period started; otherwise the period start stands in. Its
 * schedule and discounts are known only expanded (SUBSCRIPTION_EXPAND).
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
    price: item ? priceRefOf(item.price) : null,
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
    testClock: idOf(sub.test_clock),
    trialStart: sub.trial_start ?? null,
    trialEnd: sub.trial_end ?? null,
    trialEndsWithoutCard: sub.status === 'trialing' && !sub.default_payment_method && !sub.default_source &&
      ['cancel', 'pause'].includes(sub.trial_settings?.end_behavior?.missing_payment_method ?? ''),
    pending: pendingOf(sub, item?.price.id ?? null),
    discount: discountOf(sub)
  }
}
