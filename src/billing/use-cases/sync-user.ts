import type Stripe from 'stripe'
import { customerOf } from '../../db/events-repo.js'
import { AppError } from '../../errors.js'
import { STRIPE_API_VERSION } from '../../stripe/client.js'
import { hostClock, type Clock } from '../clock.js'
import { createApplyStripeEvent, type ApplyEventDeps } from './apply-stripe-event.js'

export interface SyncResult {
  user_id: string
  customer_id: string
  subscriptions: Array<{ subscription_id: string, status: string, outcome: string }>
}

/**
 * The latest Stripe time the subscription itself shows (its creation, start, period start,
 * cancellation request, end): its state is at least that new. Never the host's clock, which may run
 * ahead of Stripe's and would then make real events inside the skew look stale.
 */
export function stripeTimeOf (sub: Stripe.Subscription): number {
  const item = sub.items.data[0]
  return Math.max(sub.created, sub.start_date, item?.current_period_start ?? 0, sub.canceled_at ?? 0, sub.ended_at ?? 0)
}

/**
 * Re-reads a user's subscriptions from Stripe and applies each through the worker's use case, for
 * when an operator cannot wait for the next event or sweep. Each subscription goes through as a
 * `customer.subscription.updated` named `sync_<subscription>_<ms>` that only names it, so the use
 * case reads its state from Stripe; the event's own id keeps the claim fresh and leaves an audit row
 * that says where the change came from. Its `created` is Stripe's time, not the host's.
 */
export function createSyncUser (deps: ApplyEventDeps & { now?: Clock }) {
  const apply = createApplyStripeEvent(deps)
  const clock = deps.now ?? hostClock
  return async function syncUser (userId: string): Promise<SyncResult> {
    const customer = await customerOf(deps.db, userId)
    if (!customer?.stripeCustomerId) throw new AppError(404, 'not_found', `User ${userId} has no Stripe customer`)
    const subs: Stripe.Subscription[] = []
    for await (const s of deps.stripe.subscriptions.list({ customer: customer.stripeCustomerId, status: 'all', limit: 100 })) subs.push(s)
    const result: SyncResult = { user_id: userId, customer_id: customer.stripeCustomerId, subscriptions: [] }
    for (const sub of subs) {
      const now = clock()
      const applied = await apply({
        event: {
          id: `sync_${sub.id}_${now}`,
          type: 'customer.subscription.updated',
          created: stripeTimeOf(sub),
          api_version: STRIPE_API_VERSION,
          livemode: sub.livemode,
          data: { object: { id: sub.id, object: 'subscription' } }
        },
        receivedAt: now
      })
      result.subscriptions.push({ subscription_id: sub.id, status: sub.status, outcome: applied.outcome })
    }
    return result
  }
}
