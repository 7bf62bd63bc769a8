import t from 'tap'
import Stripe from 'stripe'
import { DAY, startEmulator } from './helpers.js'
import { advanceClock, T0, typesOf } from './flows.js'

type Env = Awaited<ReturnType<typeof startEmulator>>

async function meter (env: Env, eventName = 'api_requests', formula: 'sum' | 'count' | 'last' = 'sum') {
  return await env.stripe.billing.meters.create({ display_name: 'API requests', event_name: eventName, default_aggregation: { formula } })
}

async function meteredPrice (env: Env, meterId: string, extra: Partial<Stripe.PriceCreateParams> = {}) {
  return await env.stripe.prices.create({
    currency: 'usd', product_data: { name: 'API usage' }, recurring: { interval: 'month', usage_type: 'metered', meter: meterId }, ...(extra.tiers ? {} : { unit_amount: 2 }), ...extra
  } as Stripe.PriceCreateParams)
}

/** A customer on its own clock with a working card, subscribed to a base price and a metered one. */
async function subscribed (env: Env, metered: Stripe.Price) {
  const base = await env.stripe.prices.create({ currency: 'usd', unit_amount: 1000, recurring: { interval: 'month' }, product_data: { name: 'Base' } })
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const customer = await env.stripe.customers.create({ test_clock: clock.id, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } })
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: base.id }, { price: metered.id }], expand: ['latest_invoice'] })
  return { clock, customer, sub, base, periodEnd: sub.items.data[0]!.current_period_end }
}

const report = (env: Env, customer: string, value: number, extra: Partial<Stripe.Billing.MeterEventCreateParams> = {}) =>
  env.stripe.billing.meterEvents.create({ event_name: 'api_requests', payload: { stripe_customer_id: customer, value: String(value) }, ...extra })

const usageLine = (invoice: Stripe.Invoice, priceId: string) => invoice.lines.data.find(l => l.pricing?.price_details?.price === priceId)!

t.test('meters are created, listed, renamed, deactivated and reactivated', async t => {
  const env = await startEmulator(t)
  const m = await meter(env)
  t.match(m, { object: 'billing.meter', status: 'active', event_name: 'api_requests', default_aggregation: { formula: 'sum' }, customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' }, value_settings: { event_payload_key: 'value' } })
  t.match(m.id, /^mtr_/)
  t.match(await meter(env).catch(e => e), { statusCode: 400, param: 'event_name', message: /already exists/ })
  t.equal((await env.stripe.billing.meters.update(m.id, { display_name: 'Requests' })).display_name, 'Requests')
  const off = await env.stripe.billing.meters.deactivate(m.id)
  t.match(off, { status: 'inactive', status_transitions: { deactivated_at: Number } })
  t.same((await env.stripe.billing.meters.list({ status: 'active' })).data, [])
  t.match(await env.stripe.prices.create({ currency: 'usd', unit_amount: 1, product_data: { name: 'x' }, recurring: { interval: 'month', usage_type: 'metered', meter: m.id } }).catch(e => e), { statusCode: 400, message: /inactive/ })
  t.equal((await env.stripe.billing.meters.reactivate(m.id)).status, 'active')
  t.same(await typesOf(env.stripe, m.id), ['billing.meter.created', 'billing.meter.updated', 'billing.meter.deactivated', 'billing.meter.reactivated'])
  const noMeter = await env.stripe.prices.create({ currency: 'usd', unit_amount: 1, product_data: { name: 'x' }, recurring: { interval: 'month', usage_type: 'metered' } }).catch(e => e)
  t.match(noMeter, { statusCode: 400, param: 'recurring[meter]' }, 'a metered price names its meter')
})

t.test('meter events are summed onto the renewal invoice once; a repeated identifier counts once', async t => {
  const env = await startEmulator(t)
  const m = await meter(env)
  const metered = await meteredPrice(env, m.id)
  const { clock, customer, sub, periodEnd } = await subscribed(env, metered)
  const item = sub.items.data.find(i => i.price.id === metered.id)!
  t.notOk('quantity' in item, 'a metered item has no quantity')
  t.match(usageLine(sub.latest_invoice as Stripe.Invoice, metered.id), { amount: 0, quantity: 0 }, 'the first invoice bills no usage yet')
  t.equal((sub.latest_invoice as Stripe.Invoice).total, 1000)

  const first = await report(env, customer.id, 1200, { identifier: 'req-batch-1' })
  t.match(first, { object: 'billing.meter_event', identifier: 'req-batch-1', event_name: 'api_requests', timestamp: T0, payload: { value: '1200' } })
  const retry = await report(env, customer.id, 1200, { identifier: 'req-batch-1' }).catch(e => e)
  t.match(retry, { statusCode: 400, message: 'An event already exists with identifier req-batch-1.' }, 'a retry is refused, not counted')
  t.equal(retry.headers['stripe-should-retry'], 'false')
  await report(env, customer.id, 300, { identifier: 'req-batch-2' })
  const keyed = () => env.stripe.billing.meterEvents.create({ event_name: 'api_requests', payload: { stripe_customer_id: customer.id, value: '300' }, identifier: 'req-batch-3' }, { idempotencyKey: 'k3' })
  await keyed()
  t.equal((await keyed()).lastResponse.headers['idempotent-replayed'], 'true', 'the same request with its Idempotency-Key replays the answer')
  await advanceClock(env.stripe, clock.id, T0 + 10 * DAY)
  await report(env, customer.id, 500)
  const usage = await env.control(`meters/${m.id}/usage?customer=${customer.id}&start=${T0}&end=${periodEnd}`)
  t.match(usage, { value: 2300, formula: 'sum' })
  t.equal(usage.events.length, 4)

  await advanceClock(env.stripe, clock.id, periodEnd)
  const [renewal] = (await env.stripe.invoices.list({ subscription: sub.id, limit: 1 })).data
  const line = usageLine(renewal!, metered.id)
  t.match(line, { quantity: 2300, amount: 4600, period: { start: T0, end: periodEnd } }, 'the period just ended, 2300 × 2¢')
  t.equal(renewal!.total, 1000 + 4600)
  await report(env, customer.id, 10)
  const next = (await env.stripe.subscriptions.retrieve(sub.id)).items.data[0]!.current_period_end
  await advanceClock(env.stripe, clock.id, next)
  const [second] = (await env.stripe.invoices.list({ subscription: sub.id, limit: 1 })).data
  t.match(usageLine(second!, metered.id), { quantity: 10, amount: 20 }, 'the next renewal bills only its own period')
})

t.test('usage is billed per block (transform_quantity) or by graduated tiers', async t => {
  const env = await startEmulator(t)
  const m = await meter(env)
  const blocks = await meteredPrice(env, m.id, { unit_amount: 100, transform_quantity: { divide_by: 1000, round: 'up' } })
  const tiers = await meteredPrice(env, m.id, {
    billing_scheme: 'tiered', tiers_mode: 'graduated',
    tiers: [{ up_to: 1000, unit_amount: 0 }, { up_to: 'inf', unit_amount_decimal: Stripe.Decimal.from('0.5') }]
  })
  t.same((await env.stripe.prices.retrieve(tiers.id, { expand: ['tiers'] })).tiers!.map(x => x.up_to), [1000, null])
  const a = await subscribed(env, blocks)
  const b = await subscribed(env, tiers)
  await report(env, a.customer.id, 1500)
  await report(env, b.customer.id, 1500)
  await advanceClock(env.stripe, a.clock.id, a.periodEnd)
  await advanceClock(env.stripe, b.clock.id, b.periodEnd)
  const renewal = async (subId: string) => (await env.stripe.invoices.list({ subscription: subId, limit: 1 })).data[0]!
  t.match(usageLine(await renewal(a.sub.id), blocks.id), { quantity: 1500, amount: 200 }, '1500 units = 2 blocks of 1000, rounded up')
  t.match(usageLine(await renewal(b.sub.id), tiers.id), { quantity: 1500, amount: 250 }, 'the first 1000 free, 500 at 0.5¢')
})

t.test('event timestamps live in the customer’s clock; two clocks bill independently', async t => {
  const env = await startEmulator(t)
  const m = await meter(env)
  const metered = await meteredPrice(env, m.id)
  const a = await subscribed(env, metered)
  const b = await subscribed(env, metered)
  t.match(await report(env, a.customer.id, 1, { timestamp: T0 - 36 * DAY }).catch(e => e), { statusCode: 400, param: 'timestamp' }, 'older than 35 days')
  t.match(await report(env, a.customer.id, 1, { timestamp: T0 + 600 }).catch(e => e), { statusCode: 400, param: 'timestamp' }, 'more than 5 minutes ahead')
  await report(env, a.customer.id, 7, { timestamp: T0 - 2 * DAY })
  await report(env, b.customer.id, 9)
  await advanceClock(env.stripe, a.clock.id, a.periodEnd)
  const [renewalA] = (await env.stripe.invoices.list({ subscription: a.sub.id, limit: 1 })).data
  t.match(usageLine(renewalA!, metered.id), { quantity: 0 }, 'an event before the period started is not the period’s')
  t.equal((await env.stripe.invoices.list({ subscription: b.sub.id })).data.length, 1, 'clock B did not move')
  await advanceClock(env.stripe, b.clock.id, b.periodEnd)
  t.match(usageLine((await env.stripe.invoices.list({ subscription: b.sub.id, limit: 1 })).data[0]!, metered.id), { quantity: 9, amount: 18 })
})

t.test('summaries, count and last formulas, cancellations and events no meter counts', async t => {
  const env = await startEmulator(t)
  const sum = await meter(env)
  const count = await meter(env, 'logins', 'count')
  const last = await meter(env, 'seats', 'last')
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const customer = await env.stripe.customers.create({ test_clock: clock.id })
  const send = (event_name: string, value: string, timestamp: number, identifier?: string) =>
    env.stripe.billing.meterEvents.create({ event_name, payload: { stripe_customer_id: customer.id, value }, timestamp, ...(identifier && { identifier }) })
  const day = T0 - (T0 % DAY)
  await send('api_requests', '5', day - 3600)
  await send('api_requests', '7', day - 60, 'late')
  await send('logins', '1', day - 7200)
  await send('logins', '1', day - 100)
  await send('seats', '3', day - 7200)
  await send('seats', '2', day - 100)
  const summaries = await env.stripe.billing.meters.listEventSummaries(sum.id, { customer: customer.id, start_time: day - DAY, end_time: day + DAY, value_grouping_window: 'day' })
  t.same(summaries.data.map(s => [s.start_time, s.aggregated_value]), [[day - DAY, 12], [day, 0]])
  t.equal((await env.stripe.billing.meters.listEventSummaries(count.id, { customer: customer.id, start_time: day - DAY, end_time: day })).data[0]!.aggregated_value, 2)
  t.equal((await env.stripe.billing.meters.listEventSummaries(last.id, { customer: customer.id, start_time: day - DAY, end_time: day })).data[0]!.aggregated_value, 2)
  t.match(await env.stripe.billing.meters.listEventSummaries(sum.id, { customer: customer.id, start_time: day + 1, end_time: day + DAY }).catch(e => e), { statusCode: 400, param: 'start_time' })

  await env.stripe.billing.meterEventAdjustments.create({ event_name: 'api_requests', type: 'cancel', cancel: { identifier: 'late' } })
  t.equal((await env.control(`meters/${sum.id}/usage?customer=${customer.id}`)).value, 5, 'a canceled event no longer counts')
  const orphan = await env.stripe.billing.meterEvents.create({ event_name: 'nobody_meters_this', payload: { stripe_customer_id: customer.id, value: '1' } })
  t.equal(orphan.event_name, 'nobody_meters_this', 'accepted, as Stripe does: the error is reported later')
  await env.stripe.billing.meterEvents.create({ event_name: 'api_requests', payload: { stripe_customer_id: 'cus_missing', value: '1' } })
  await env.stripe.billing.meterEvents.create({ event_name: 'api_requests', payload: { stripe_customer_id: customer.id, value: '1.5' } })
  t.same((await env.control('meter_errors')).data.map((e: { code: string }) => e.code), ['no_meter', 'meter_event_customer_not_found', 'meter_event_invalid_value'])
  t.equal((await env.control(`meters/${sum.id}/usage?customer=${customer.id}`)).value, 5, 'none of them counts')
})

t.test('a metered price takes no quantity', async t => {
  const env = await startEmulator(t)
  const metered = await meteredPrice(env, (await meter(env)).id)
  const customer = await env.stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } })
  const refused = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: metered.id, quantity: 3 }] }).catch(e => e)
  t.match(refused, { statusCode: 400, param: 'items[0][quantity]' })
  const session = await env.stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: metered.id }], success_url: 'https://example.com' })
  t.match(session, { amount_total: 0, amount_subtotal: 0 }, 'nothing is due today for usage billed in arrears')
})

t.test('a subscription that ends bills its outstanding usage on a final invoice', async t => {
  const env = await startEmulator(t)
  const m = await meter(env)
  const metered = await meteredPrice(env, m.id)
  const atEnd = await subscribed(env, metered)
  await env.stripe.subscriptions.update(atEnd.sub.id, { cancel_at_period_end: true })
  await report(env, atEnd.customer.id, 40)
  await advanceClock(env.stripe, atEnd.clock.id, atEnd.periodEnd)
  t.equal((await env.stripe.subscriptions.retrieve(atEnd.sub.id)).status, 'canceled')
  const [last] = (await env.stripe.invoices.list({ subscription: atEnd.sub.id, limit: 1 })).data
  t.match(last, { billing_reason: 'subscription_cycle', total: 80, status: 'paid', period_end: atEnd.periodEnd })
  t.same(last!.lines.data.map(l => [l.pricing?.price_details?.price, l.quantity]), [[metered.id, 40]], 'usage only: the base price is not billed again')

  const now = await subscribed(env, metered)
  await report(env, now.customer.id, 5)
  const canceled = await env.stripe.subscriptions.cancel(now.sub.id, { invoice_now: true })
  t.equal(canceled.status, 'canceled')
  t.match((await env.stripe.invoices.list({ subscription: now.sub.id, limit: 1 })).data[0], { total: 10 })
})
