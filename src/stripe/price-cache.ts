import type Stripe from 'stripe'
import type { RedisClient } from '../queue/connections.js'

/** What the api needs of a price: its id for Checkout and plan changes, its amount for `/plans`. */
export interface CachedPrice {
  id: string
  unit_amount: number | null
  currency: string
  interval: string | null
}

/**
 * The price cache is shared by the prices worker (which fills it from Stripe on a schedule and on
 * price events) and the api (which reads it, and fills a miss from Stripe). One key per lookup key.
 */
export const priceCacheKey = (prefix: string, lookupKey: string) => `${prefix}:price:${lookupKey}`

/** A day: the worker refreshes far more often; the TTL only bounds what a dead worker leaves behind. */
export const PRICE_CACHE_TTL_SECONDS = 86_400

export function toCachedPrice (price: Stripe.Price): CachedPrice {
  return { id: price.id, unit_amount: price.unit_amount, currency: price.currency, interval: price.recurring?.interval ?? null }
}

export async function writeCachedPrice (redis: RedisClient, prefix: string, lookupKey: string, price: CachedPrice): Promise<void> {
  await redis.set(priceCacheKey(prefix, lookupKey), JSON.stringify(price), 'EX', PRICE_CACHE_TTL_SECONDS)
}

export interface PriceLookupDeps {
  redis: RedisClient
  stripe: Stripe
  prefix: string
}

/**
 * The active price holding a lookup key: from the cache, else from Stripe (then cached). A cache
 * that cannot be reached is skipped rather than failing the request; Stripe stays the truth.
 * Returns null when Stripe has no active price under that key (the catalogue was not bootstrapped).
 */
export async function resolvePrice (deps: PriceLookupDeps, lookupKey: string): Promise<CachedPrice | null> {
  const cached = await deps.redis.get(priceCacheKey(deps.prefix, lookupKey)).catch(() => null)
  if (cached) return JSON.parse(cached) as CachedPrice
  const { data } = await deps.stripe.prices.list({ lookup_keys: [lookupKey], active: true, limit: 1 })
  if (!data[0]) return null
  const price = toCachedPrice(data[0])
  await writeCachedPrice(deps.redis, deps.prefix, lookupKey, price).catch(() => {})
  return price
}
