import t from 'tap'
import { createCheckout } from '../../../src/billing/use-cases/create-checkout.js'
import { AppError } from '../../../src/errors.js'
import { clockEnv, T0 } from './clock-helpers.js'

const refusal = async (p: Promise<unknown>) => await p.then(() => null, (err: unknown) => err)

t.test('a promotion code given to create-checkout is checked, applied to the first invoice and shown in the entitlement', async t => {
  const env = await clockEnv(t)
  const coupon = await env.deps.stripe.coupons.create({ percent_off: 20, duration: 'forever' })
  await env.deps.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'LAUNCH20' })
  await env.userOnClock('u_ada')

  const unknown = await refusal(createCheckout(env.deps, { user_id: 'u_ada', plan_id: 'pro', promotion_code: 'NOPE' }))
  t.ok(unknown instanceof AppError)
  t.match(unknown, { statusCode: 400, code: 'invalid_promotion_code', message: /"NOPE"/ }, 'an unknown code is named in a 400')

  const { subscriptionId } = await env.checkout({ user_id: 'u_ada', plan_id: 'pro', promotion_code: 'launch20' })
  await env.applyNew()
  const [invoice] = (await env.deps.stripe.invoices.list({ subscription: subscriptionId, limit: 1 })).data
  t.match(invoice, { status: 'paid', subtotal: 2900, amount_paid: 2320 }, 'the first invoice is 20% off')
  t.match(await env.read('u_ada'), { plan_id: 'pro', access: true, discount: { percent_off: 20, amount_off: null, ends_at: null } })
})

t.test('an expired code is refused by name; ALLOW_PROMOTION_CODES lets the customer type one on Stripe\'s page', async t => {
  const env = await clockEnv(t, { ALLOW_PROMOTION_CODES: 'true' })
  const coupon = await env.deps.stripe.coupons.create({ amount_off: 500, currency: 'usd', duration: 'once' })
  // Expired in the customer's clock, an hour after it starts.
  await env.deps.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'SPRING', expires_at: T0 + 3600 })
  await env.deps.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'SUMMER' })
  const { clockId } = await env.userOnClock('u_bo')
  await env.advance(clockId, T0 + 7200)
  t.match(await refusal(createCheckout(env.deps, { user_id: 'u_bo', plan_id: 'pro', promotion_code: 'SPRING' })), { statusCode: 400, code: 'invalid_promotion_code', message: /"SPRING" cannot be redeemed[^]*expired/ })

  const { session_id: sessionId } = await createCheckout(env.deps, { user_id: 'u_bo', plan_id: 'pro' })
  t.match(await env.deps.stripe.checkout.sessions.retrieve(sessionId), { allow_promotion_codes: true })
  const done = await env.em.control(`checkout/${sessionId}/complete`, { outcome: 'paid', promotion_code: 'SUMMER' })
  await env.applyNew()
  const [invoice] = (await env.deps.stripe.invoices.list({ subscription: done.subscription, limit: 1 })).data
  t.match(invoice, { amount_paid: 2400 }, 'the typed code took $5 off')
})

t.test('without ALLOW_PROMOTION_CODES the page takes none', async t => {
  const env = await clockEnv(t)
  await env.userOnClock('u_cy')
  const { session_id: sessionId } = await createCheckout(env.deps, { user_id: 'u_cy', plan_id: 'pro' })
  t.notOk((await env.deps.stripe.checkout.sessions.retrieve(sessionId)).allow_promotion_codes)
})
