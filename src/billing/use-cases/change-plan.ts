import type Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { customerIdOf } from '../../db/customers-repo.js'
import type { Catalogue } from '../plans.js'
import { planItemOf } from '../../stripe/subscription-state.js'
import { overagePricesOrFail, planOrFail, priceOrFail } from './create-checkout.js'
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
 * Upgrade or downgrade: the subscription's plan item gets the new plan's price, keeping its item id
 * (so Stripe swaps the price rather than adding a second line) and prorating the rest of the period.
 * Its metered overage items follow the new plan: swapped in place, added, or removed.
 * The answer is Stripe's new state; the entitlement follows when the worker applies the update event.
 */
export async function changePlan (deps: SubscriptionCommandDeps, userId: string, planId: string): Promise<SubscriptionView> {
  const plan = planOrFail(deps.catalogue, planId)
  const sub = await subscriptionOrFail(deps, userId)
  const [price, metered] = await Promise.all([priceOrFail(deps, plan), overagePricesOrFail(deps, plan)])
  const item = planItemOf(sub)!
  if (item.price.id === price.id) return toSubscriptionView(userId, sub, deps.catalogue)
  const meteredItems = sub.items.data.filter(i => i !== item && i.price.recurring?.usage_type === 'metered')
  const overage = [
    ...metered.map((m, i) => (meteredItems[i] ? { id: meteredItems[i].id, price: m.id } : { price: m.id })),
    ...meteredItems.slice(metered.length).map(i => ({ id: i.id, deleted: true }))
  ]
  const updated = await deps.stripe.subscriptions.update(sub.id, {
    items: [{ id: item.id, price: price.id }, ...overage],
    proration_behavior: 'create_prorations',
    metadata: { plan_id: plan.id }
  })
  return toSubscriptionView(userId, updated, deps.catalogue)
}
