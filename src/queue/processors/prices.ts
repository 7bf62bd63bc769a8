import type { Job, Queue } from 'bullmq'
import type { Logger } from 'pino'
import type { Deps } from '../../deps.js'
import { overageLookupKey, overagesOf } from '../../billing/plans.js'
import { scheduleEvery } from '../schedule.js'
import { priceCacheKey, toCachedPrice, writeCachedPrice } from '../../stripe/price-cache.js'

/** Stripe refuses more lookup keys than this in one `prices.list`. */
const LOOKUP_KEYS_PER_CALL = 10

export const PRICES_REFRESH_JOB = 'refresh'
const PRICES_SCHEDULER = 'prices-refresh'

export interface PricesRefreshResult {
  cached: string[]
  /** Lookup keys Stripe holds no active price for: dropped from the cache. */
  unknown: string[]
}

/**
 * Re-reads the active price of every plan's lookup key (and of its metered overage prices) and
 * rewrites the cache, so the api's reads (resolvePrice) find a fresh id and amount without calling
 * Stripe. One list call per ten keys.
 */
export function createPricesProcessor (deps: Pick<Deps, 'redis' | 'stripe' | 'catalogue' | 'config'>, log?: Pick<Logger, 'warn'>) {
  const prefix = deps.config.QUEUE_PREFIX
  return async function processPrices (_job?: Job): Promise<PricesRefreshResult> {
    const keys = deps.catalogue.plans.flatMap(p => [p.lookup_key, ...overagesOf(p).map(o => overageLookupKey(p, o.metric))])
    const found = new Map<string, ReturnType<typeof toCachedPrice>>()
    for (let i = 0; i < keys.length; i += LOOKUP_KEYS_PER_CALL) {
      const chunk = keys.slice(i, i + LOOKUP_KEYS_PER_CALL)
      const { data } = await deps.stripe.prices.list({ lookup_keys: chunk, active: true, limit: 100 })
      for (const price of data) if (price.lookup_key) found.set(price.lookup_key, toCachedPrice(price))
    }
    const unknown = keys.filter(k => !found.has(k))
    for (const [key, price] of found) await writeCachedPrice(deps.redis, prefix, key, price)
    if (unknown.length) {
      await deps.redis.del(...unknown.map(k => priceCacheKey(prefix, k)))
      // Not an error: a fresh account has no catalogue until `npm run stripe:bootstrap` has run.
      log?.warn({ lookupKeys: unknown }, 'Stripe has no active price for these lookup keys; run npm run stripe:bootstrap')
    }
    return { cached: [...found.keys()], unknown }
  }
}

/** Idempotent across worker processes. */
export async function schedulePricesRefresh (queue: Queue, everySeconds: number): Promise<void> {
  await scheduleEvery(queue, PRICES_SCHEDULER, everySeconds, { name: PRICES_REFRESH_JOB, data: { reason: 'schedule' } })
}

/** One refresh now, so a starting worker fills a cold cache. */
export async function refreshPricesNow (queue: Queue): Promise<void> {
  await queue.add(PRICES_REFRESH_JOB, { reason: 'start' })
}
