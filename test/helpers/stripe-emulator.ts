import type Stripe from 'stripe'
import { createEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index.js'
import { meterEventName, overageLookupKey, overagesOf, type Catalogue } from '../../src/billing/plans.js'

type T = { teardown: (fn: () => unknown) => void }

export interface TestEmulator {
  emulator: Emulator
  url: string
  /** POSTs (with a body) or GETs one of the emulator's `/_emulator/...` control routes. */
  control: (path: string, body?: unknown) => Promise<any>
}

/** An offline Stripe on a free port for one test file; point the app at it with STRIPE_API_BASE. */
export async function startStripeEmulator (t: T, opts: EmulatorOptions = {}): Promise<TestEmulator> {
  const emulator = createEmulator({ retryBaseMs: 20, ...opts })
  const url = await emulator.listen(0)
  t.teardown(() => emulator.close())
  const control = async (path: string, body?: unknown) => {
    const res = await fetch(`${url}/_emulator/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })
    const json = await res.json()
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`)
    return json
  }
  return { emulator, url, control }
}

/** Creates one product and one recurring price per plan, under the plan's lookup key, and its metered overage prices; price ids by plan id. */
export async function seedPlans (stripe: Stripe, catalogue: Catalogue): Promise<Record<string, string>> {
  const prices: Record<string, string> = {}
  const meters: Record<string, string> = {}
  for (const plan of catalogue.plans) {
    const product = await stripe.products.create({ name: plan.name })
    const price = await stripe.prices.create({
      product: product.id, currency: catalogue.currency, unit_amount: plan.unit_amount, lookup_key: plan.lookup_key, recurring: { interval: plan.interval }
    })
    prices[plan.id] = price.id
    for (const o of overagesOf(plan)) {
      meters[o.metric] ??= (await stripe.billing.meters.create({ display_name: o.metric, event_name: meterEventName(o.metric), default_aggregation: { formula: 'sum' } })).id
      await stripe.prices.create({
        product: product.id, currency: catalogue.currency, unit_amount: o.unitAmount, lookup_key: overageLookupKey(plan, o.metric),
        recurring: { interval: plan.interval, usage_type: 'metered', meter: meters[o.metric] }, transform_quantity: { divide_by: o.per, round: 'up' }
      })
    }
  }
  return prices
}

/** Subscribes a user through a paid hosted checkout, carrying user_id the way Tollgate's checkout does. */
export async function checkoutPaid (stripe: Stripe, em: TestEmulator, userId: string, planId: string, priceId: string, email: string) {
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    line_items: [{ price: priceId, quantity: 1 }],
    customer_email: email,
    client_reference_id: userId,
    metadata: { user_id: userId, plan_id: planId },
    subscription_data: { metadata: { user_id: userId } },
    success_url: 'http://app.example.test/billing/success?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'http://app.example.test/billing/cancel'
  })
  const done = await em.control(`checkout/${session.id}/complete`, { outcome: 'paid' })
  return { sessionId: session.id, subscriptionId: done.subscription as string, customerId: done.customer as string }
}
