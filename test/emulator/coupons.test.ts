import t from 'tap'
import Stripe from 'stripe'
import { DAY, startEmulator, startReceiver, waitFor } from './helpers.js'
import { advanceClock, T0, typesOf } from './flows.js'

type Env = Awaited<ReturnType<typeof startEmulator>>

async function monthly (env: Env, amount = 2000) {
  return await env.stripe.prices.create({ currency: 'usd', unit_amount: amount, recurring: { interval: 'month' }, product_data: { name: 'Pro' } })
}

/** A customer on its own clock with a working card. */
async function onClock (env: Env, frozen = T0) {
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: frozen })
  const customer = await env.stripe.customers.create({ test_clock: clock.id, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } })
  return { clock, customer }
}

/** Totals of a subscription's invoices, oldest first. */
async function totals (env: Env, subId: string): Promise<number[]> {
  return (await env.stripe.invoices.list({ subscription: subId, limit: 100 })).data.reverse().map(i => i.total)
}

/** Advances a clock month by month (two intervals at most per advance, as Stripe allows). */
async function renewTimes (env: Env, clockId: string, sub: Stripe.Subscription, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const current = await env.stripe.subscriptions.retrieve(sub.id)
    await advanceClock(env.stripe, clockId, current.items.data[0]!.current_period_end)
  }
}

t.test('coupons are created, listed, updated and deleted, with their events', async t => {
  const env = await startEmulator(t)
  const percent = await env.stripe.coupons.create({ percent_off: 25.5, duration: 'forever', name: 'Launch' })
  t.match(percent, { object: 'coupon', percent_off: 25.5, amount_off: null, duration: 'forever', valid: true, times_redeemed: 0 })
  t.match(percent.id, /^[A-Z0-9]{8}$/)
  const fixed = await env.stripe.coupons.create({ id: 'TENOFF', amount_off: 1000, currency: 'USD', duration: 'repeating', duration_in_months: 3, max_redemptions: 5 })
  t.match(fixed, { id: 'TENOFF', amount_off: 1000, currency: 'usd', duration_in_months: 3, max_redemptions: 5 })
  t.same((await env.stripe.coupons.list()).data.map(c => c.id), ['TENOFF', percent.id])
  t.equal((await env.stripe.coupons.update('TENOFF', { name: 'Ten off', metadata: { campaign: 'spring' } })).name, 'Ten off')
  t.same(await env.stripe.coupons.del(percent.id), { id: percent.id, object: 'coupon', deleted: true })
  t.match(await env.stripe.coupons.retrieve(percent.id).catch(e => e), { statusCode: 404, code: 'resource_missing' })
  t.same(await typesOf(env.stripe, 'TENOFF'), ['coupon.created', 'coupon.updated'])
  t.same(await typesOf(env.stripe, percent.id), ['coupon.created', 'coupon.deleted'])

  for (const [params, message] of [
    [{ duration: 'once' }, /exactly one of `percent_off` or `amount_off`/],
    [{ percent_off: 20, amount_off: 100, currency: 'usd' }, /exactly one of/],
    [{ percent_off: 120 }, /at most 100/],
    [{ amount_off: 500 }, /currency/],
    [{ percent_off: 10, duration: 'repeating' }, /duration_in_months/],
    [{ percent_off: 10, duration: 'once', duration_in_months: 2 }, /duration_in_months/],
    [{ id: 'TENOFF', percent_off: 10 }, /already exists/]
  ] as const) {
    t.match(await env.stripe.coupons.create(params as Stripe.CouponCreateParams).catch(e => e), { statusCode: 400, message }, JSON.stringify(params))
  }
})

t.test('once, repeating and forever over several renewals', async t => {
  const env = await startEmulator(t)
  const price = await monthly(env)
  // Each on its own test clock, all made first: advancing one clock renews only its subscription.
  const start = async (coupon: Stripe.CouponCreateParams) => {
    const { clock, customer } = await onClock(env)
    const created = await env.stripe.coupons.create(coupon)
    const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], discounts: [{ coupon: created.id }] })
    return { clock, sub, customer }
  }
  const once = await start({ percent_off: 50, duration: 'once' })
  const repeating = await start({ amount_off: 500, currency: 'usd', duration: 'repeating', duration_in_months: 2 })
  const forever = await start({ percent_off: 10, duration: 'forever' })
  await renewTimes(env, once.clock.id, once.sub, 4)
  t.same(await totals(env, once.sub.id), [1000, 2000, 2000, 2000, 2000], 'once: the first invoice only')
  t.same([await totals(env, repeating.sub.id), await totals(env, forever.sub.id)], [[1500], [1800]], 'the other clocks did not move')
  t.same((await env.stripe.subscriptions.retrieve(once.sub.id)).discounts, [], 'spent, it leaves the subscription')
  await renewTimes(env, repeating.clock.id, repeating.sub, 4)
  t.same(await totals(env, repeating.sub.id), [1500, 1500, 2000, 2000, 2000], 'repeating for 2 months: the invoices of those months')
  await renewTimes(env, forever.clock.id, forever.sub, 4)
  t.same(await totals(env, forever.sub.id), [1800, 1800, 1800, 1800, 1800], 'forever: every invoice')
  t.equal((await env.stripe.subscriptions.retrieve(forever.sub.id)).discounts.length, 1)

  const discountOf = async (subId: string) => (await env.stripe.events.list({ type: 'customer.discount.created', limit: 100 })).data.find(e => (e.data.object as Stripe.Discount).subscription === subId)!.data.object as Stripe.Discount
  const ended = await discountOf(repeating.sub.id)
  t.equal(ended.end, (await env.stripe.invoices.list({ subscription: repeating.sub.id })).data.reverse()[2]!.created, 'a repeating discount ends with its last month')
  for (const { sub } of [once, repeating]) {
    const deleted = (await env.stripe.events.list({ type: 'customer.discount.deleted', limit: 100 })).data.filter(e => (e.data.object as Stripe.Discount).subscription === sub.id)
    t.equal(deleted.length, 1, `${sub.id}: customer.discount.deleted once`)
  }
  t.equal((await env.stripe.events.list({ type: 'customer.discount.deleted', limit: 100 })).data.filter(e => (e.data.object as Stripe.Discount).subscription === forever.sub.id).length, 0)
})

t.test('an invoice shows what each discount took, per line and in total', async t => {
  const env = await startEmulator(t)
  const pro = await monthly(env, 2000)
  const addon = await env.stripe.prices.create({ currency: 'usd', unit_amount: 1000, recurring: { interval: 'month' }, product_data: { name: 'Add-on' } })
  const { customer } = await onClock(env)
  const coupon = await env.stripe.coupons.create({ amount_off: 600, currency: 'usd', duration: 'forever' })
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }, { price: addon.id }], discounts: [{ coupon: coupon.id }], expand: ['latest_invoice.discounts'] })
  const invoice = sub.latest_invoice as Stripe.Invoice
  const [discount] = invoice.discounts as Stripe.Discount[]
  t.match(discount, { object: 'discount', subscription: sub.id, customer: customer.id, source: { coupon: coupon.id, type: 'coupon' }, end: null })
  t.match(invoice, { subtotal: 3000, total: 2400, amount_due: 2400, amount_paid: 2400, total_discount_amounts: [{ amount: 600, discount: discount!.id }] })
  t.same(invoice.lines.data.map(l => l.discount_amounts), [[{ amount: 400, discount: discount!.id }], [{ amount: 200, discount: discount!.id }]], 'an amount is shared in proportion')
  t.equal((await env.stripe.coupons.retrieve(coupon.id)).times_redeemed, 1)

  const all = await env.stripe.coupons.create({ amount_off: 5000, currency: 'usd', duration: 'once' })
  const free = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], discounts: [{ coupon: all.id }], expand: ['latest_invoice'] })
  t.match(free.latest_invoice, { subtotal: 2000, total: 0, status: 'paid', amount_paid: 0 }, 'never more than the invoice holds; nothing is charged')
  t.same((await env.stripe.charges.list({ customer: customer.id })).data.length, 1, 'only the first subscription was charged')
})

t.test('applies_to limits a coupon to products; an amount in another currency takes nothing', async t => {
  const env = await startEmulator(t)
  const pro = await monthly(env, 2000)
  const addon = await env.stripe.prices.create({ currency: 'usd', unit_amount: 1000, recurring: { interval: 'month' }, product_data: { name: 'Add-on' } })
  const { customer } = await onClock(env)
  const onlyAddon = await env.stripe.coupons.create({ percent_off: 50, applies_to: { products: [addon.product as string] } })
  t.same((await env.stripe.coupons.retrieve(onlyAddon.id, { expand: ['applies_to'] })).applies_to, { products: [addon.product] })
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }, { price: addon.id }], discounts: [{ coupon: onlyAddon.id }], expand: ['latest_invoice'] })
  t.match(sub.latest_invoice, { subtotal: 3000, total: 2500 })
  const euros = await env.stripe.coupons.create({ amount_off: 500, currency: 'eur' })
  const other = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], discounts: [{ coupon: euros.id }], expand: ['latest_invoice'] })
  t.match(other.latest_invoice, { subtotal: 2000, total: 2000 })
})

t.test('a customer’s own coupon discounts its invoices; coupons run out and expire', async t => {
  const env = await startEmulator(t)
  const price = await monthly(env)
  const { clock, customer } = await onClock(env)
  const coupon = await env.stripe.coupons.create({ percent_off: 20, duration: 'forever', max_redemptions: 1, redeem_by: T0 + 10 * DAY })
  // `coupon` on customers is an older version's parameter; the CLI's fixtures send it.
  const updated = await env.stripe.customers.update(customer.id, { coupon: coupon.id } as Stripe.CustomerUpdateParams)
  t.match(updated.discount, { object: 'discount', customer: customer.id, subscription: null, source: { coupon: coupon.id } })
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], expand: ['latest_invoice'] })
  t.match(sub.latest_invoice, { total: 1600 }, 'the customer’s discount applies to its subscription')
  t.same(await typesOf(env.stripe, (updated.discount as Stripe.Discount).id), ['customer.discount.created'])
  t.match(await env.stripe.coupons.retrieve(coupon.id), { times_redeemed: 1, valid: false })
  const other = await env.stripe.customers.create({ test_clock: clock.id })
  const exhausted = await env.stripe.customers.update(other.id, { coupon: coupon.id } as Stripe.CustomerUpdateParams).catch(e => e)
  t.match(exhausted, { statusCode: 400, code: 'coupon_expired', message: /maximum number of redemptions/ })

  const late = await env.stripe.coupons.create({ percent_off: 5, redeem_by: T0 + 10 * DAY })
  await advanceClock(env.stripe, clock.id, T0 + 11 * DAY)
  const expired = await env.stripe.subscriptions.create({ customer: other.id, items: [{ price: price.id }], discounts: [{ coupon: late.id }] }).catch(e => e)
  t.match(expired, { statusCode: 400, code: 'coupon_expired', message: /expired/, param: 'discounts[0][coupon]' }, 'redeem_by is judged in the customer’s time')
  const removed = await env.stripe.customers.update(customer.id, { coupon: '' } as Stripe.CustomerUpdateParams)
  t.equal(removed.discount, null)
  t.same((await env.stripe.events.list({ type: 'customer.discount.deleted' })).data.length, 1)
})

t.test('subscription updates add, keep and remove discounts', async t => {
  const env = await startEmulator(t)
  const price = await monthly(env)
  const { clock, customer } = await onClock(env)
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] })
  const coupon = await env.stripe.coupons.create({ percent_off: 50, duration: 'forever' })
  const withDiscount = await env.stripe.subscriptions.update(sub.id, { discounts: [{ coupon: coupon.id }] })
  t.equal(withDiscount.discounts.length, 1)
  const kept = await env.stripe.subscriptions.update(sub.id, { discounts: [{ discount: withDiscount.discounts[0] as string }] })
  t.same(kept.discounts, withDiscount.discounts, '{discount} keeps the one it has')
  await advanceClock(env.stripe, clock.id, sub.items.data[0]!.current_period_end)
  t.same(await totals(env, sub.id), [2000, 1000])
  const none = await env.stripe.subscriptions.update(sub.id, { discounts: '' })
  t.same(none.discounts, [])
  t.same(await typesOf(env.stripe, withDiscount.discounts[0] as string), ['customer.discount.created', 'customer.discount.deleted'])
})

t.test('discounts render as the version before 2025-09-30.clover shows them', async t => {
  const receiver = await startReceiver(t)
  const env = await startEmulator(t)
  await env.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'], api_version: '2025-02-24.acacia' as Stripe.WebhookEndpointCreateParams.ApiVersion })
  const price = await monthly(env)
  const { customer } = await onClock(env)
  const coupon = await env.stripe.coupons.create({ percent_off: 10, duration: 'forever' })
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], discounts: [{ coupon: coupon.id }] })
  const received = (type: string) => waitFor(() => receiver.received.find(r => r.event.type === type)?.event.data.object)
  const discount = await received('customer.discount.created')
  t.match(discount, { id: sub.discounts[0], object: 'discount', coupon: { id: coupon.id, object: 'coupon', percent_off: 10 } })
  t.notOk('source' in discount)
  t.match(await received('invoice.created'), { subscription: sub.id, discount: { id: sub.discounts[0], coupon: { id: coupon.id } }, total: 1800 })
  t.match(await received('customer.subscription.created'), { discount: { coupon: { id: coupon.id } } })
  const promo = await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'OLDSHAPE' })
  t.ok(promo.promotion.coupon === coupon.id)
  t.match(await received('promotion_code.created'), { code: 'OLDSHAPE', coupon: { id: coupon.id, object: 'coupon' } })
})
