import type Stripe from 'stripe'
import { resolvePrice } from '../../stripe/price-cache.js'
import type { Catalogue } from '../plans.js'
import type { RedisClient } from '../../queue/connections.js'

/**
 * The public catalogue with the amounts Stripe charges. A price that cannot be resolved (Stripe down
 * and the cache cold) shows the catalogue's own amount rather than failing the pricing page.
 */
export async function listPlans (deps: { redis: RedisClient, stripe: Stripe, catalogue: Catalogue, prefix: string }) {
  const plans = await Promise.all(deps.catalogue.plans.map(async plan => {
    const price = await resolvePrice({ redis: deps.redis, stripe: deps.stripe, prefix: deps.prefix }, plan.lookup_key).catch(() => null)
    return {
      id: plan.id,
      name: plan.name,
      unit_amount: price?.unit_amount ?? plan.unit_amount,
      currency: price?.currency ?? deps.catalogue.currency,
      interval: price?.interval ?? plan.interval,
      features: plan.features,
      limits: plan.limits
    }
  }))
  return { currency: deps.catalogue.currency, plans }
}
