import { createHash } from 'node:crypto'
import Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { recordCheckoutSession } from '../../db/checkout-sessions-repo.js'
import { customerIdOf } from '../../db/customers-repo.js'
import { AppError } from '../../errors.js'
import { priceCacheKey, resolvePrice, type CachedPrice } from '../../stripe/price-cache.js'
import { checkoutUrls } from '../app-links.js'
import { overageLookupKey, overagesOf, type Catalogue, type Plan } from '../plans.js'
import { ensureCustomer } from './ensure-customer.js'
import { refuseSecondCheckout } from './live-subscription.js'
import type { RedisClient } from '../../queue/connections.js'

export interface CheckoutDeps {
  db: Db
  stripe: Stripe
  redis: RedisClient
  catalogue: Catalogue
  config: { APP_URL: string, QUEUE_PREFIX: string }
  now?: () => number
}

export interface CheckoutRequest {
  plan_id: string
  user_id: string
  email?: string
}

/** Clicks within one window (same user, plan and price) get the same Checkout session back. */
export const CHECKOUT_IDEMPOTENCY_WINDOW_MS = 10 * 60_000

export function planOrFail (catalogue: Catalogue, planId: string): Plan {
  const plan = catalogue.byId(planId)
  if (!plan) throw new AppError(400, 'unknown_plan', `Unknown plan "${planId}"; allowed plans: ${catalogue.ids.join(', ')}`, { allowed_plans: catalogue.ids })
  return plan
}

export async function priceOrFail (deps: Pick<CheckoutDeps, 'redis' | 'stripe' | 'config'>, plan: Plan): Promise<CachedPrice> {
  const price = await resolvePrice({ redis: deps.redis, stripe: deps.stripe, prefix: deps.config.QUEUE_PREFIX }, plan.lookup_key)
  if (!price) throw new AppError(503, 'price_unavailable', `Stripe has no active price with lookup key "${plan.lookup_key}"; run npm run stripe:bootstrap`)
  return price
}

/** The metered prices that bill a plan's overage: checkout and plan changes put them on the subscription. */
export async function overagePricesOrFail (deps: Pick<CheckoutDeps, 'redis' | 'stripe' | 'config'>, plan: Plan): Promise<CachedPrice[]> {
  return await Promise.all(overagesOf(plan).map(async o => {
    const key = overageLookupKey(plan, o.metric)
    const price = await resolvePrice({ redis: deps.redis, stripe: deps.stripe, prefix: deps.config.QUEUE_PREFIX }, key)
    if (!price) throw new AppError(503, 'price_unavailable', `Stripe has no active price with lookup key "${key}"; run npm run stripe:bootstrap`)
    return price
  }))
}

function isMissingPrice (err: unknown): boolean {
  return err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'resource_missing' && /price/.test(err.param ?? '')
}

/**
 * Starts a Stripe Checkout for a plan: validate the plan, refuse a user whose subscription may still
 * bill them, find or create their one customer, then create the session under an idempotency key so
 * that a double click yields one session. The user id travels in `client_reference_id` and both
 * metadata maps, so every later event names its user.
 */
export async function createCheckout (deps: CheckoutDeps, req: CheckoutRequest) {
  const plan = planOrFail(deps.catalogue, req.plan_id)
  const existing = await customerIdOf(deps.db, req.user_id)
  if (existing) await refuseSecondCheckout(deps.stripe, req.user_id, existing)
  const [price, metered] = await Promise.all([priceOrFail(deps, plan), overagePricesOrFail(deps, plan)])
  const customer = existing ?? await ensureCustomer(deps, req.user_id, req.email ?? null)
  const window = Math.floor((deps.now?.() ?? Date.now()) / CHECKOUT_IDEMPOTENCY_WINDOW_MS)
  const metadata = { user_id: req.user_id, plan_id: plan.id }
  const start = async (chosen: CachedPrice) => {
    const key = createHash('sha256').update(JSON.stringify([req.user_id, plan.id, chosen.id, customer, window, ...metered.map(m => m.id)])).digest('hex')
    return await deps.stripe.checkout.sessions.create({
      mode: 'subscription',
      customer,
      // A metered price takes no quantity: its meter counts the overage Tollgate reports.
      line_items: [{ price: chosen.id, quantity: 1 }, ...metered.map(m => ({ price: m.id }))],
      client_reference_id: req.user_id,
      metadata,
      subscription_data: { metadata },
      ...checkoutUrls(deps.config.APP_URL)
    }, { idempotencyKey: `tollgate-checkout-${key}` })
  }
  const session = await start(price).catch(async (err: unknown) => {
    // A cached id lives up to a day; a price deleted in that time is dropped and looked up once more.
    if (!isMissingPrice(err)) throw err
    await deps.redis.del(priceCacheKey(deps.config.QUEUE_PREFIX, plan.lookup_key))
    return await start(await priceOrFail(deps, plan))
  })
  await recordCheckoutSession(deps.db, { sessionId: session.id, userId: req.user_id, planId: plan.id, status: session.status ?? 'open' })
  return { checkout_url: session.url!, session_id: session.id }
}
