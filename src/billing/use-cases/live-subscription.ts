import type Stripe from 'stripe'
import { AppError } from '../../errors.js'
import { toSubscriptionState } from '../../stripe/subscription-state.js'
import type { Catalogue } from '../plans.js'
import { checkoutRefusal, holdsAccess } from '../subscription-status.js'

/**
 * Every subscription of a customer that has not been canceled, as Stripe holds it now: Stripe's
 * list without a status filter, every page. Asked of Stripe rather than Postgres so that a plan
 * change or a second checkout right after payment sees the subscription before its webhook has been
 * applied.
 */
async function openSubscriptionsOf (stripe: Stripe, customerId: string, expand: string[] = []): Promise<Stripe.Subscription[]> {
  const subs: Stripe.Subscription[] = []
  for await (const sub of stripe.subscriptions.list({ customer: customerId, limit: 100, ...(expand.length > 0 && { expand }) })) subs.push(sub)
  return subs
}

/** The subscription that serves the user now (active, trialing, past_due), the one commands act on. */
export async function liveSubscriptionOf (stripe: Stripe, customerId: string): Promise<Stripe.Subscription | null> {
  return (await openSubscriptionsOf(stripe, customerId)).find(s => holdsAccess(s.status)) ?? null
}

/**
 * 409 when the customer holds a subscription that may still bill them or become active (the status
 * table in subscription-status.ts): a second checkout would be double billing. The answer names the
 * subscription and what to do instead; where paying an invoice is the way, its payment page.
 */
export async function refuseSecondCheckout (stripe: Stripe, userId: string, customerId: string): Promise<void> {
  const refusal = checkoutRefusal(await openSubscriptionsOf(stripe, customerId, ['data.latest_invoice']))
  if (!refusal) return
  const sub = refusal.subscription
  const invoice = typeof sub.latest_invoice === 'object' ? sub.latest_invoice : null
  const payable = invoice?.status === 'open' ? invoice.hosted_invoice_url ?? null : null
  throw new AppError(409, 'already_subscribed', `User ${userId} already has subscription ${sub.id} (${sub.status}): ${refusal.advice}`, {
    subscription_id: sub.id,
    subscription_status: sub.status,
    next_step: refusal.next,
    hosted_invoice_url: payable
  })
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
  /** A plan change scheduled for the period's end; null when none (or the answer was not read with its schedule). */
  pending_change: { plan_id: string | null, at: number } | null
}

export function toSubscriptionView (userId: string, sub: Stripe.Subscription, catalogue: Catalogue): SubscriptionView {
  const item = sub.items.data[0]
  const state = toSubscriptionState(sub)
  return {
    user_id: userId,
    subscription_id: sub.id,
    plan_id: catalogue.planOf(state.price)?.id ?? null,
    status: sub.status,
    current_period_end: item?.current_period_end ?? null,
    cancel_at_period_end: sub.cancel_at_period_end,
    cancel_at: sub.cancel_at ?? null,
    pending_change: state.pending ? { plan_id: catalogue.planOf(state.pending.price)?.id ?? null, at: state.pending.at } : null
  }
}
