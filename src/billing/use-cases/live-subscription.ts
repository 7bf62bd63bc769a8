import type Stripe from 'stripe'
import { AppError } from '../../errors.js'
import { toSubscriptionState } from '../../stripe/subscription-state.js'
import type { Catalogue } from '../plans.js'

/** Statuses in which a user still holds a subscription: a second checkout would double-bill them. */
const LIVE = new Set(['active', 'trialing', 'past_due'])

/**
 * The user's live subscription as Stripe holds it now. Asked of Stripe rather than Postgres so that
 * a plan change or a second checkout right after payment sees the subscription before its webhook
 * has been applied.
 */
export async function liveSubscriptionOf (stripe: Stripe, customerId: string): Promise<Stripe.Subscription | null> {
  const { data } = await stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 20 })
  return data.find(s => LIVE.has(s.status)) ?? null
}

export function noSubscription (userId: string): AppError {
  return new AppError(404, 'no_subscription', `User ${userId} has no active subscription; start one with POST /api/v1/create-checkout`)
}

/** The state a subscription command answers with, read from the subscription Stripe returned. */
export interface SubscriptionView {
  user_id: string
  subscription_id: string
  plan_id: string | null
  status: string
  current_period_end: number | null
  cancel_at_period_end: boolean
  cancel_at: number | null
}

export function toSubscriptionView (userId: string, sub: Stripe.Subscription, catalogue: Catalogue): SubscriptionView {
  const item = sub.items.data[0]
  return {
    user_id: userId,
    subscription_id: sub.id,
    plan_id: catalogue.planOf(toSubscriptionState(sub).price)?.id ?? null,
    status: sub.status,
    current_period_end: item?.current_period_end ?? null,
    cancel_at_period_end: sub.cancel_at_period_end,
    cancel_at: sub.cancel_at ?? null
  }
}
