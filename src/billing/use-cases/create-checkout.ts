import { createHash } from 'node:crypto'
import Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { recordCheckoutSession } from '../../db/checkout-sessions-repo.js'
import { customerOf } from '../../db/customers-repo.js'
import { hadTrial } from '../../db/trial-claims-repo.js'
import { AppError } from '../../errors.js'
import { priceCacheKey, resolvePrice, type CachedPrice } from '../../stripe/price-cache.js'
import { checkoutUrls } from '../app-links.js'
import { overageLookupKey, overagesOf, type Catalogue, type Plan } from '../plans.js'
import { ensureCustomer } from './ensure-customer.js'
import { expireSupersededCheckouts } from './expire-superseded-checkouts.js'
import { refuseSecondCheckout } from './live-subscription.js'
import type { RedisClient } from '../../queue/connections.js'

export interface CheckoutDeps {
  db: Db
  stripe: Stripe
  redis: RedisClient
  catalogue: Catalogue
  config: { APP_URL: string, QUEUE_PREFIX: string, STRIPE_SECRET_KEY: string, ALLOW_PROMOTION_CODES: boolean }
  now?: () => number
}

export interface CheckoutRequest {
  plan_id: string
  user_id: string
  email?: string
  test_clock?: string
  promotion_code?: string
}

/** Clicks within one window (same user, plan and price) get the same Checkout session back. */
export const CHECKOUT_IDEMPOTENCY_WINDOW_MS = 10 * 60_000

export function planOrFail (catalogue: Catalogue, planId: string): Plan {
  const plan = catalogue.byId(planId)
  if (!plan) throw new AppError(400, 'unknown_plan', `Unknown plan "${planId}"; allowed plans: ${catalogue.ids.join(', ')}`, { allowed_plans: catalogue.ids })
  return plan
}

export async function priceOrFail (deps: Pick<CheckoutDeps, 'redis' | 'stripe'> & { config: { QUEUE_PREFIX: string } }, plan: Plan): Promise<CachedPrice> {
  const price = await resolvePrice({ redis: deps.redis, stripe: deps.stripe, prefix: deps.config.QUEUE_PREFIX }, plan.lookup_key)
  if (!price) throw new AppError(503, 'price_unavailable', `Stripe has no active price with lookup key "${plan.lookup_key}"; run npm run stripe:bootstrap`)
  return price
}

/**
 * A test clock is a test-mode tool, and Stripe keeps a customer on the clock it was created on: a
 * user whose customer exists elsewhere cannot move (a new user id can).
 */
function refuseTestClock (secretKey: string, req: CheckoutRequest, known: { id: string, testClock: string | null } | null): void {
  if (/^(sk|rk)_live_/.test(secretKey)) throw new AppError(400, 'test_clock_in_live_mode', 'test_clock is for Stripe test mode; this Tollgate runs with a live key')
  if (known && known.testClock !== req.test_clock) {
    throw new AppError(400, 'test_clock_mismatch', `User "${req.user_id}" already has Stripe customer ${known.id} ${known.testClock ? `on test clock ${known.testClock}` : 'on no test clock'}; a customer stays on its clock, so use another user id`)
  }
}

/**
 * The trial a checkout starts: the plan's, unless the user (or their Stripe customer) has had one.
 * Without a card, Checkout asks for none while nothing is due and the trial's end ends the
 * subscription when no card was added by then.
 */
function trialOf (plan: Plan, eligible: boolean): Partial<Stripe.Checkout.SessionCreateParams> {
  if (!plan.trial_days || !eligible) return {}
  return {
    ...(plan.trial_without_card && { payment_method_collection: 'if_required' as const }),
    subscription_data: {
      trial_period_days: plan.trial_days,
      ...(plan.trial_without_card && { trial_settings: { end_behavior: { missing_payment_method: plan.trial_end_behavior ?? 'cancel' } } })
    }
  }
}

/**
 * The active promotion code a customer typed, by its text; 400 naming it when Stripe has none such.
 * Its expiry and limits are Stripe's to judge when the session is made, in the customer's own
 * clock (a test clock included), and a refusal then is the same 400.
 */
async function promotionCodeOrFail (stripe: Stripe, code: string): Promise<string> {
  const [promo] = (await stripe.promotionCodes.list({ code, active: true, limit: 1 })).data
  if (!promo) throw invalidCode(code, 'is unknown or inactive')
  return promo.id
}

const invalidCode = (code: string, why: string) => new AppError(400, 'invalid_promotion_code', `Promotion code "${code}" ${why}`, { promotion_code: code })

/** The metered prices that bill a plan's overage: checkout and plan changes put them on the subscription. */
export async function overagePricesOrFail (deps: Pick<CheckoutDeps, 'redis' | 'stripe'> & { config: { QUEUE_PREFIX: string } }, plan: Plan): Promise<CachedPrice[]> {
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
 * bill them, check the promotion code, find or create their one customer, start the plan's trial
 * if they never had one, then create the session under an idempotency key so
 * that a double click yields one session. The user id travels in `client_reference_id` and both
 * metadata maps, so every later event names its user.
 */
export async function createCheckout (deps: CheckoutDeps, req: CheckoutRequest) {
  const plan = planOrFail(deps.catalogue, req.plan_id)
  const known = await customerOf(deps.db, req.user_id)
  if (req.test_clock !== undefined) refuseTestClock(deps.config.STRIPE_SECRET_KEY, req, known)
  const existing = known?.id ?? null
  if (existing) await refuseSecondCheckout(deps.stripe, req.user_id, existing)
  const promotion = req.promotion_code ? await promotionCodeOrFail(deps.stripe, req.promotion_code) : null
  const [price, metered] = await Promise.all([priceOrFail(deps, plan), overagePricesOrFail(deps, plan)])
  const customer = existing ?? await ensureCustomer(deps, req.user_id, req.email ?? null, req.test_clock ?? null)
  const trial = trialOf(plan, plan.trial_days !== undefined && !await hadTrial(deps.db, req.user_id, customer))
  const window = Math.floor((deps.now?.() ?? Date.now()) / CHECKOUT_IDEMPOTENCY_WINDOW_MS)
  const metadata = { user_id: req.user_id, plan_id: plan.id }
  const start = async (chosen: CachedPrice) => {
    const key = createHash('sha256').update(JSON.stringify([req.user_id, plan.id, chosen.id, customer, window, promotion, trial, ...metered.map(m => m.id)])).digest('hex')
    return await deps.stripe.checkout.sessions.create({
      mode: 'subscription',
      customer,
      // A metered price takes no quantity: its meter counts the overage Tollgate reports.
      line_items: [{ price: chosen.id, quantity: 1 }, ...metered.map(m => ({ price: m.id }))],
      client_reference_id: req.user_id,
      metadata,
      ...trial,
      subscription_data: { ...trial.subscription_data, metadata },
      // Stripe takes one or the other: a code given here, else (if allowed) one typed on its page.
      ...(promotion ? { discounts: [{ promotion_code: promotion }] } : deps.config.ALLOW_PROMOTION_CODES && { allow_promotion_codes: true }),
      ...checkoutUrls(deps.config.APP_URL)
    }, { idempotencyKey: `tollgate-checkout-${key}` })
  }
  const session = await start(price).catch(async (err: unknown) => {
    if (promotion && err instanceof Stripe.errors.StripeInvalidRequestError && err.param?.startsWith('discounts')) {
      throw invalidCode(req.promotion_code!, `cannot be redeemed: ${err.message}`)
    }
    // A cached id lives up to a day; a price deleted in that time is dropped and looked up once more.
    if (!isMissingPrice(err)) throw err
    await deps.redis.del(priceCacheKey(deps.config.QUEUE_PREFIX, plan.lookup_key))
    return await start(await priceOrFail(deps, plan))
  })
  await recordCheckoutSession(deps.db, { sessionId: session.id, userId: req.user_id, planId: plan.id, status: session.status ?? 'open' })
  await expireSupersededCheckouts(deps, req.user_id, session.id)
  return { checkout_url: session.url!, session_id: session.id }
}
