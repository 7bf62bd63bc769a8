import t from 'tap'
import Stripe from 'stripe'
import { DAY, startEmulator } from './helpers.js'
import { advanceClock, T0, typesOf } from './flows.js'

type Env = Awaited<ReturnType<typeof startEmulator>>

async function setup (t: Parameters<typeof startEmulator>[0]) {
  const env = await startEmulator(t)
  const price = await env.stripe.prices.create({ currency: 'usd', unit_amount: 2000, recurring: { interval: 'month' }, product_data: { name: 'Pro' } })
  const coupon = await env.stripe.coupons.create({ percent_off: 25, duration: 'once' })
  return { env, price, coupon }
}

const checkout = (env: Env, price: string, extra: Partial<Stripe.Checkout.SessionCreateParams> = {}) => env.stripe.checkout.sessions.create({
  mode: 'subscription', line_items: [{ price, quantity: 1 }], success_url: 'https://example.com/ok', ...extra
})

t.test('promotion codes are created, found by code, updated and listed', async t => {
  const { env, coupon } = await setup(t)
  const promo = await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'Spring25', max_redemptions: 10, metadata: { campaign: 'spring' } })
  t.match(promo, { object: 'promotion_code', code: 'Spring25', active: true, promotion: { type: 'coupon', coupon: coupon.id }, times_redeemed: 0, max_redemptions: 10, restrictions: { first_time_transaction: false } })
  t.match(promo.id, /^promo_/)
  // The older `coupon` parameter (what `stripe trigger promotion_code.created` sends) makes the same object.
  const legacy = await env.stripe.promotionCodes.create({ coupon: coupon.id } as unknown as Stripe.PromotionCodeCreateParams)
  t.match(legacy, { promotion: { coupon: coupon.id }, code: /^[A-Z0-9]{8}$/ })
  t.same((await env.stripe.promotionCodes.list({ code: 'spring25' })).data.map(p => p.id), [promo.id], 'codes are found whatever their case')
  const duplicate = await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'SPRING25' }).catch(e => e)
  t.match(duplicate, { statusCode: 400, param: 'code', message: /already exists/ })
  const off = await env.stripe.promotionCodes.update(promo.id, { active: false })
  t.equal(off.active, false)
  t.equal((await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'SPRING25' })).code, 'SPRING25', 'an inactive code frees its name')
  t.match(await env.stripe.promotionCodes.update(promo.id, { active: true }).catch(e => e), { statusCode: 400, message: /already exists/ })
  t.same((await env.stripe.promotionCodes.list({ active: false })).data.map(p => p.id), [promo.id])
  t.same(await typesOf(env.stripe, promo.id), ['promotion_code.created', 'promotion_code.updated'])
  t.match(await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: 'NOPE' } }).catch(e => e), { statusCode: 404, param: 'promotion[coupon]' })
})

t.test('a promotion code typed on the Checkout page discounts the first invoice', async t => {
  const { env, price, coupon } = await setup(t)
  const promo = await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'WELCOME' })
  const session = await checkout(env, price.id, { allow_promotion_codes: true })
  t.match(session, { amount_total: 2000, total_details: { amount_discount: 0 } })
  const page = await (await fetch(session.url!)).text()
  t.match(page, 'id="promotion-code"', 'the page asks for a code')

  const wrong = await fetch(session.url!, { method: 'POST', body: new URLSearchParams({ promotion_code: 'NOPE', action: 'apply_code' }) })
  t.equal(wrong.status, 400)
  t.match(await wrong.text(), 'This code is invalid.')
  const applied = await fetch(session.url!, { method: 'POST', body: new URLSearchParams({ promotion_code: 'welcome', action: 'apply_code' }) })
  t.equal(applied.status, 200)
  t.match(await applied.text(), /id="discount">Discount: −5\.00 USD[\s\S]*Due today: 15\.00 USD/)
  t.match(await env.stripe.checkout.sessions.retrieve(session.id), { amount_total: 1500, total_details: { amount_discount: 500 }, discounts: [{ coupon: null, promotion_code: promo.id }] })

  const paid = await fetch(session.url!, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ card_number: '4242424242424242', action: 'pay' }) })
  t.equal(paid.status, 303)
  const done = await env.stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription.latest_invoice', 'line_items'] })
  t.match(done, { status: 'complete', payment_status: 'paid', amount_total: 1500 })
  t.match(done.line_items!.data[0], { amount_subtotal: 2000, amount_discount: 500, amount_total: 1500 })
  const sub = done.subscription as Stripe.Subscription
  t.match(sub.latest_invoice, { total: 1500, amount_paid: 1500 })
  const [discountId] = (sub.latest_invoice as Stripe.Invoice).discounts as string[]
  t.match(await env.stripe.invoices.retrieve((sub.latest_invoice as Stripe.Invoice).id, { expand: ['discounts'] }), { discounts: [{ id: discountId, promotion_code: promo.id, subscription: sub.id }] })
  t.equal((await env.stripe.promotionCodes.retrieve(promo.id)).times_redeemed, 1)
  t.equal((await env.stripe.coupons.retrieve(coupon.id)).times_redeemed, 1)
})

t.test('Checkout with discounts set up front, and the control route typing a code', async t => {
  const { env, price, coupon } = await setup(t)
  const promo = await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'FRIEND' })
  const preset = await checkout(env, price.id, { discounts: [{ promotion_code: promo.id }] })
  t.match(preset, { amount_total: 1500, discounts: [{ promotion_code: promo.id, coupon: null }] })
  t.match(await env.control(`checkout/${preset.id}/complete`, { outcome: 'paid' }), { status: 'complete', amount_total: 1500 })

  const typed = await checkout(env, price.id, { allow_promotion_codes: true })
  const completed = await env.control(`checkout/${typed.id}/complete`, { outcome: 'paid', promotion_code: 'FRIEND' })
  t.match(completed, { amount_total: 1500, total_details: { amount_discount: 500 } })
  t.equal((await env.stripe.promotionCodes.retrieve(promo.id)).times_redeemed, 2)
  const refused = await checkout(env, price.id)
  await t.rejects(env.control(`checkout/${refused.id}/complete`, { outcome: 'paid', promotion_code: 'FRIEND' }), /does not accept promotion codes/)

  const payment = await env.stripe.prices.create({ currency: 'usd', unit_amount: 4000, product_data: { name: 'Credits' } })
  const once = await env.stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price: payment.id, quantity: 1 }], discounts: [{ coupon: coupon.id }], success_url: 'https://example.com/ok' })
  const paid = await env.control(`checkout/${once.id}/complete`, { outcome: 'paid' })
  t.equal((await env.stripe.paymentIntents.retrieve(paid.payment_intent)).amount, 3000, 'payment mode charges the discounted total')
})

t.test('an unknown, inactive, expired, used up or restricted code is refused; the session stays open', async t => {
  const { env, price, coupon } = await setup(t)
  const code = (params: Partial<Stripe.PromotionCodeCreateParams>) => env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, ...params })
  let session = await checkout(env, price.id, { allow_promotion_codes: true })
  const enter = (promotion: string) => env.control(`checkout/${session.id}/complete`, { outcome: 'paid', promotion_code: promotion }).catch((e: Error) => e.message)

  t.match(await enter('UNKNOWN'), /This code is invalid/)
  await code({ code: 'PAUSED', active: false })
  t.match(await enter('PAUSED'), /This code is invalid/, 'an inactive code is not found by customers')
  const now = (await env.control('clock')).now
  await code({ code: 'SOON', expires_at: now + DAY })
  await code({ code: 'ONCE', max_redemptions: 1 })
  const big = await code({ code: 'BIG', restrictions: { minimum_amount: 5000, minimum_amount_currency: 'usd' } })
  t.match(big.restrictions, { minimum_amount: 5000, minimum_amount_currency: 'usd' })
  t.match(await enter('BIG'), /below its minimum amount/)

  const first = await checkout(env, price.id, { allow_promotion_codes: true })
  t.match(await env.control(`checkout/${first.id}/complete`, { outcome: 'paid', promotion_code: 'ONCE' }), { status: 'complete', amount_total: 1500 })
  t.match(await enter('ONCE'), /maximum number of redemptions/)

  await env.control('clock/advance', { seconds: 2 * DAY })
  session = await checkout(env, price.id, { allow_promotion_codes: true })
  t.match(await enter('SOON'), /has expired/)
  t.match(await env.stripe.checkout.sessions.retrieve(session.id), { status: 'open', amount_total: 2000, discounts: [] }, 'the session is as it was')

  const customer = await env.stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } })
  await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] })
  const firstTime = await code({ code: 'NEWBIE', restrictions: { first_time_transaction: true } })
  const repeat = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], discounts: [{ promotion_code: firstTime.id }] }).catch(e => e)
  t.match(repeat, { statusCode: 400, message: /prior transactions/, param: 'discounts[0][promotion_code]' })
  const other = await env.stripe.customers.create({})
  const mine = await code({ code: 'MINE', customer: other.id })
  t.match(await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], discounts: [{ promotion_code: mine.id }] }).catch(e => e), { statusCode: 400, message: /another customer/ })
})

t.test('expires_at is judged in the customer’s clock', async t => {
  const { env, price, coupon } = await setup(t)
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const customer = await env.stripe.customers.create({ test_clock: clock.id, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } })
  const promo = await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, expires_at: T0 + DAY })
  await advanceClock(env.stripe, clock.id, T0 + 2 * DAY)
  const late = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], discounts: [{ promotion_code: promo.id }] }).catch(e => e)
  t.match(late, { statusCode: 400, message: /has expired/ })
})

t.test('a code used up between entering it and paying is refused on the page; the session stays open', async t => {
  const { env, price, coupon } = await setup(t)
  await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'LAST', max_redemptions: 1 })
  const [a, b] = [await checkout(env, price.id, { allow_promotion_codes: true }), await checkout(env, price.id, { allow_promotion_codes: true })]
  for (const s of [a, b]) t.equal((await fetch(s.url!, { method: 'POST', body: new URLSearchParams({ promotion_code: 'LAST', action: 'apply_code' }) })).status, 200)
  const pay = (s: Stripe.Checkout.Session) => fetch(s.url!, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ card_number: '4242424242424242', action: 'pay' }) })
  t.equal((await pay(a)).status, 303)
  const late = await pay(b)
  t.equal(late.status, 400)
  t.match(await late.text(), 'maximum number of redemptions')
  t.match(await env.stripe.checkout.sessions.retrieve(b.id), { status: 'open', subscription: null })
})
