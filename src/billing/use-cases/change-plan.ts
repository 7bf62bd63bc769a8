import type Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { customerIdOf } from '../../db/customers-repo.js'
import type { Catalogue } from '../plans.js'
import { planOrFail, priceOrFail } from './create-checkout.js'
import { liveSubscriptionOf, noSubscription, toSubscriptionView, type SubscriptionView } from './live-subscription.js'
import type { RedisClient } from '../../queue/connections.js'

export interface SubscriptionCommandDeps {
  db: Db
  stripe: Stripe
  redis: RedisClient
  catalogue: Catalogue
  config: { APP_URL: string, QUEUE_PREFIX: string }
}

/** The user's live subscription, or 404: commands act on what Stripe holds now. */
export async function subscriptionOrFail (deps: Pick<SubscriptionCommandDeps, 'db' | 'stripe'>, userId: string): Promise<Stripe.Subscription> {
  const customer = await customerIdOf(deps.db, userId)
  const sub = customer ? await liveSubscriptionOf(deps.stripe, customer) : null
  if (!sub) throw noSubscription(userId)
  return sub
}

/**
 * Upgrade or downgrade: the subscription's one item gets the new plan's price, keeping its item id
 * (so Stripe swaps the price rather than adding a second line) and prorating the rest of the period.
 * The answer is Stripe's new state; the entitlement follows when the worker applies the update event.
 */
export async function changePlan (deps: SubscriptionCommandDeps, userId: string, planId: string): Promise<SubscriptionView> {
  const plan = planOrFail(deps.catalogue, planId)
  const sub = await subscriptionOrFail(deps, userId)
  const price = await priceOrFail(deps, plan)
  const item = sub.items.data[0]!
  if (item.price.id === price.id) return toSubscriptionView(userId, sub, deps.catalogue)
  const updated = await deps.stripe.subscriptions.update(sub.id, {
    items: [{ id: item.id, price: price.id }],
    proration_behavior: 'create_prorations',
    metadata: { plan_id: plan.id }
  })
  return toSubscriptionView(userId, updated, deps.catalogue)
}
