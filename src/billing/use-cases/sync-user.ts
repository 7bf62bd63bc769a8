import type Stripe from 'stripe'
import { customerOf } from '../../db/events-repo.js'
import { AppError } from '../../errors.js'
import { createApplyStripeEvent, type ApplyEventDeps } from './apply-stripe-event.js'

export interface SyncResult {
  user_id: string
  customer_id: string
  subscriptions: Array<{ subscription_id: string, status: string, outcome: string }>
}

/**
 * Re-reads a user's subscriptions from Stripe and applies each through the worker's use case, for
 * when an operator cannot wait for the next event or sweep. Each subscription goes through as a
 * `customer.subscription.updated` named `sync_<subscription>_<ms>`: the use case re-reads the
 * subscription from Stripe anyway, so the event only names it, and its own id keeps the claim
 * fresh and leaves an audit row that says where the change came from.
 */
export function createSyncUser (deps: ApplyEventDeps) {
  const apply = createApplyStripeEvent(deps)
  return async function syncUser (userId: string): Promise<SyncResult> {
    const customer = await customerOf(deps.db, userId)
    if (!customer?.stripeCustomerId) throw new AppError(404, 'not_found', `User ${userId} has no Stripe customer`)
    const subs: Stripe.Subscription[] = []
    for await (const s of deps.stripe.subscriptions.list({ customer: customer.stripeCustomerId, status: 'all', limit: 100 })) subs.push(s)
    const result: SyncResult = { user_id: userId, customer_id: customer.stripeCustomerId, subscriptions: [] }
    for (const sub of subs) {
      const now = Date.now()
      const applied = await apply({
        event: {
          id: `sync_${sub.id}_${now}`,
          type: 'customer.subscription.updated',
          created: Math.floor(now / 1000),
          api_version: null,
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
