import t from 'tap'
import Stripe from 'stripe'
import { DAY, startEmulator, startReceiver, waitFor } from './helpers.js'
import { advanceClock, eventsOf, T0, typesOf } from './flows.js'

// Phases use `iterations`, which the emulator takes though stripe 23's types no longer list it (they name `duration`):
// those phases are asserted to the params type.

type Env = Awaited<ReturnType<typeof startEmulator>>

async function catalog (env: Env) {
  const product = await env.stripe.products.create({ name: 'API' })
  const price = (unit: number, lookup: string) => env.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: unit, recurring: { interval: 'month' }, lookup_key: lookup })
  return { pro: await price(2000, 'pro'), starter: await price(900, 'starter') }
}

/** A customer on its own test clock, paying with a working card, subscribed to `price`. */
async function subscribedOnClock (env: Env, priceId: string, card = 'pm_card_visa') {
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const customer = await env.stripe.customers.create({ email: 'sched@example.com', test_clock: clock.id, payment_method: card, invoice_settings: { default_payment_method: card } })
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: priceId }] })
  return { clock, customer, sub, periodEnd: sub.items.data[0]!.current_period_end }
}

/** Stripe's downgrade at period end: a schedule from the subscription, then a second phase on the cheaper price. */
async function downgradeAtPeriodEnd (env: Env, sub: Stripe.Subscription, to: string) {
  const schedule = await env.stripe.subscriptionSchedules.create({ from_subscription: sub.id })
  const current = schedule.phases[0]!
  return await env.stripe.subscriptionSchedules.update(schedule.id, {
    end_behavior: 'release',
    phases: [
      { items: [{ price: (current.items[0]!.price as string), quantity: 1 }], start_date: current.start_date, end_date: current.end_date },
      { items: [{ price: to, quantity: 1 }], iterations: 1 } as Stripe.SubscriptionScheduleUpdateParams.Phase
    ]
  })
}

t.test('a schedule downgrades pro to starter exactly at the period end on a test clock', async t => {
  const env = await startEmulator(t)
  const { pro, starter } = await catalog(env)
  const { clock, sub, periodEnd } = await subscribedOnClock(env, pro.id)
  const schedule = await downgradeAtPeriodEnd(env, sub, starter.id)
  t.match(schedule, { object: 'subscription_schedule', status: 'active', subscription: sub.id, end_behavior: 'release', current_phase: { start_date: T0, end_date: periodEnd }, test_clock: clock.id })
  t.same(schedule.phases.map(p => [p.start_date, p.items[0]!.price]), [[T0, pro.id], [periodEnd, starter.id]])
  t.equal(schedule.phases[0]!.end_date, periodEnd)
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).schedule, schedule.id, 'the subscription names its schedule')

  await advanceClock(env.stripe, clock.id, periodEnd - 1)
  const before = await env.stripe.subscriptions.retrieve(sub.id)
  t.equal(before.items.data[0]!.price.id, pro.id, 'a second before the boundary: still pro')
  t.equal((await env.stripe.invoices.list({ subscription: sub.id })).data.length, 1)

  await advanceClock(env.stripe, clock.id, periodEnd)
  const after = await env.stripe.subscriptions.retrieve(sub.id)
  t.equal(after.items.data[0]!.price.id, starter.id, 'at the boundary: starter')
  t.equal(after.items.data[0]!.id, before.items.data[0]!.id, 'the same item, its price changed')
  const [renewal] = (await env.stripe.invoices.list({ subscription: sub.id, limit: 1 })).data
  t.match(renewal, { billing_reason: 'subscription_cycle', created: periodEnd, total: 900, status: 'paid' }, 'the renewal bills the new phase’s price')
  t.same(renewal!.lines.data.map(l => l.pricing?.price_details?.price), [starter.id], 'no proration lines at the boundary')
  const updates = (await eventsOf(env.stripe, sub.id)).filter(e => e.type === 'customer.subscription.updated' && e.created === periodEnd)
  t.equal((updates[0]!.data.previous_attributes as any).items.data[0].price.id, pro.id, 'customer.subscription.updated names the old price')
  const scheduled = await env.stripe.subscriptionSchedules.retrieve(schedule.id)
  t.same(scheduled.current_phase, { start_date: periodEnd, end_date: after.items.data[0]!.current_period_end }, 'one iteration: the new phase lasts one period')

  // The last phase ends: the schedule completes and releases the subscription, which goes on as it is.
  const lastEnd = scheduled.phases[1]!.end_date
  await advanceClock(env.stripe, clock.id, lastEnd)
  t.match(await env.stripe.subscriptionSchedules.retrieve(schedule.id), { status: 'completed', completed_at: lastEnd, current_phase: null })
  const released = await env.stripe.subscriptions.retrieve(sub.id)
  t.match(released, { status: 'active', schedule: null })
  t.equal(released.items.data[0]!.price.id, starter.id)
  t.same(await typesOf(env.stripe, schedule.id), [
    'subscription_schedule.created', 'subscription_schedule.updated', 'subscription_schedule.updated', 'subscription_schedule.expiring', 'subscription_schedule.completed'
  ])
})

t.test('a released schedule leaves the subscription as it is; a canceled one cancels it now', async t => {
  const env = await startEmulator(t)
  const { pro, starter } = await catalog(env)
  const a = await subscribedOnClock(env, pro.id)
  const released = await env.stripe.subscriptionSchedules.release((await downgradeAtPeriodEnd(env, a.sub, starter.id)).id)
  t.match(released, { status: 'released', released_at: T0, released_subscription: a.sub.id, subscription: null, current_phase: null })
  t.equal((await env.stripe.subscriptions.retrieve(a.sub.id)).schedule, null)
  await advanceClock(env.stripe, a.clock.id, a.periodEnd + DAY)
  t.equal((await env.stripe.subscriptions.retrieve(a.sub.id)).items.data[0]!.price.id, pro.id, 'no downgrade once released')
  const again = await env.stripe.subscriptionSchedules.release(released.id).catch(e => e)
  t.match(again, { statusCode: 400, message: /released/ })

  const b = await subscribedOnClock(env, pro.id)
  const schedule = await downgradeAtPeriodEnd(env, b.sub, starter.id)
  const canceled = await env.stripe.subscriptionSchedules.cancel(schedule.id)
  t.match(canceled, { status: 'canceled', canceled_at: T0, current_phase: null })
  t.match(await env.stripe.subscriptions.retrieve(b.sub.id), { status: 'canceled', schedule: null })
  t.same((await typesOf(env.stripe, schedule.id)).slice(-1), ['subscription_schedule.canceled'])
  t.same((await typesOf(env.stripe, b.sub.id)).slice(-1), ['customer.subscription.deleted'])
  const update = await env.stripe.subscriptionSchedules.update(schedule.id, { metadata: { a: 'b' } }).catch(e => e)
  t.match(update, { statusCode: 400, message: /canceled/ })
})

t.test('a schedule that starts later creates its subscription on the clock, warns 7 days before its end and cancels it at the end', async t => {
  const env = await startEmulator(t)
  const { pro, starter } = await catalog(env)
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const customer = await env.stripe.customers.create({ test_clock: clock.id, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } })
  const start = T0 + 10 * DAY
  const schedule = await env.stripe.subscriptionSchedules.create({
    customer: customer.id, start_date: start, end_behavior: 'cancel',
    phases: [{ items: [{ price: pro.id, quantity: 2 }], duration: { interval: 'week', interval_count: 2 } }, { items: [{ price: starter.id }], end_date: start + 30 * DAY }]
  })
  t.match(schedule, { status: 'not_started', subscription: null, current_phase: null })
  t.same(schedule.phases.map(p => [p.start_date, p.end_date]), [[start, start + 14 * DAY], [start + 14 * DAY, start + 30 * DAY]])
  t.same((await env.stripe.subscriptions.list({ customer: customer.id })).data, [])

  await advanceClock(env.stripe, clock.id, start)
  const started = await env.stripe.subscriptionSchedules.retrieve(schedule.id)
  t.match(started, { status: 'active', current_phase: { start_date: start } })
  const sub = await env.stripe.subscriptions.retrieve(started.subscription as string)
  t.match(sub, { status: 'active', start_date: start, schedule: schedule.id })
  t.equal(sub.items.data[0]!.quantity, 2)
  t.match((await env.stripe.invoices.list({ subscription: sub.id })).data[0], { billing_reason: 'subscription_create', total: 4000, status: 'paid' })

  // Mid-period phase switch: prorated as the phase says, at the moment the phase ends.
  await advanceClock(env.stripe, clock.id, start + 14 * DAY)
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).items.data[0]!.price.id, starter.id)
  const prorations = (await env.stripe.invoiceItems.list({ customer: customer.id })).data
  t.same(prorations.map(ii => ii.proration).sort(), [true, true], 'the mid-period change is prorated')

  await advanceClock(env.stripe, clock.id, start + 30 * DAY)
  t.match(await env.stripe.subscriptions.retrieve(sub.id), { status: 'canceled', ended_at: start + 30 * DAY })
  t.match(await env.stripe.subscriptionSchedules.retrieve(schedule.id), { status: 'completed' })
  const expiring = (await eventsOf(env.stripe, schedule.id)).find(e => e.type === 'subscription_schedule.expiring')
  t.equal(expiring?.created, start + 23 * DAY, 'expiring: 7 days before the end')
})

t.test('the clock of one customer moves only its schedules', async t => {
  const env = await startEmulator(t)
  const { pro, starter } = await catalog(env)
  const a = await subscribedOnClock(env, pro.id)
  const b = await subscribedOnClock(env, pro.id)
  await downgradeAtPeriodEnd(env, a.sub, starter.id)
  await downgradeAtPeriodEnd(env, b.sub, starter.id)
  await advanceClock(env.stripe, a.clock.id, a.periodEnd + DAY)
  t.equal((await env.stripe.subscriptions.retrieve(a.sub.id)).items.data[0]!.price.id, starter.id, 'clock A: downgraded')
  t.equal((await env.stripe.subscriptions.retrieve(b.sub.id)).items.data[0]!.price.id, pro.id, 'clock B: not yet')
  await advanceClock(env.stripe, b.clock.id, b.periodEnd)
  t.equal((await env.stripe.subscriptions.retrieve(b.sub.id)).items.data[0]!.price.id, starter.id, 'clock B: downgraded at its own boundary')
  const scheduleB = (await env.stripe.subscriptionSchedules.list({ customer: b.customer.id })).data[0]!
  await env.stripe.testHelpers.testClocks.del(b.clock.id)
  t.match(await env.stripe.subscriptionSchedules.retrieve(scheduleB.id).catch(e => e), { statusCode: 404 }, 'deleting a clock deletes its customers’ schedules')
  t.equal((await env.stripe.subscriptionSchedules.list({ customer: a.customer.id })).data.length, 1, 'not the other clock’s')
})

t.test('unpaid renewals that end the subscription abort its schedule', async t => {
  const env = await startEmulator(t, { retryScheduleDays: [1] })
  const { pro, starter } = await catalog(env)
  const { clock, customer, sub, periodEnd } = await subscribedOnClock(env, pro.id)
  const schedule = await env.stripe.subscriptionSchedules.create({ from_subscription: sub.id })
  await env.stripe.subscriptionSchedules.update(schedule.id, { phases: [{ items: [{ price: pro.id }], end_date: periodEnd }, { items: [{ price: starter.id }], iterations: 3 } as Stripe.SubscriptionScheduleUpdateParams.Phase] })
  await env.control(`customers/${customer.id}/fail-payments`, { fail: true })
  await advanceClock(env.stripe, clock.id, periodEnd + 2 * DAY)
  t.match(await env.stripe.subscriptions.retrieve(sub.id), { status: 'canceled', cancellation_details: { reason: 'payment_failed' } })
  t.match(await env.stripe.subscriptionSchedules.retrieve(schedule.id), { status: 'canceled' })
  t.same((await typesOf(env.stripe, schedule.id)).slice(-1), ['subscription_schedule.aborted'])
})

t.test('schedules refuse what Stripe refuses', async t => {
  const env = await startEmulator(t)
  const { pro, starter } = await catalog(env)
  const { customer, sub } = await subscribedOnClock(env, pro.id)
  const both = await env.stripe.subscriptionSchedules.create({ from_subscription: sub.id, phases: [{ items: [{ price: pro.id }] }] } as any).catch(e => e)
  t.match(both, { statusCode: 400, param: 'phases', message: /from_subscription/ })
  await env.stripe.subscriptionSchedules.create({ from_subscription: sub.id })
  const twice = await env.stripe.subscriptionSchedules.create({ from_subscription: sub.id }).catch(e => e)
  t.match(twice, { statusCode: 400, message: /already attached/ })
  const noPrice = await env.stripe.subscriptionSchedules.create({ customer: customer.id, phases: [{ items: [{ quantity: 1 }] }] } as any).catch(e => e)
  t.match(noPrice, { statusCode: 400, param: 'phases[0][items][0][price]' })
  const twoEnds = await env.stripe.subscriptionSchedules.create({ customer: customer.id, phases: [{ items: [{ price: starter.id }], iterations: 2, end_date: T0 + DAY }] } as any).catch(e => e)
  t.match(twoEnds, { statusCode: 400, message: /only one of/ })
  const past = await env.stripe.subscriptionSchedules.create({ customer: customer.id, start_date: T0 - DAY, phases: [{ items: [{ price: starter.id }] }] }).catch(e => e)
  t.match(past, { statusCode: 400, param: 'start_date' })
  const missingSchedule = await env.stripe.subscriptionSchedules.retrieve('sub_sched_missing').catch(e => e)
  t.match(missingSchedule, { statusCode: 404, code: 'resource_missing' })
  t.equal((await env.stripe.subscriptionSchedules.list({ customer: customer.id })).data.length, 1)
})

t.test('an endpoint on 2025-02-24.acacia receives schedules in that version’s shape', async t => {
  const receiver = await startReceiver(t)
  const env = await startEmulator(t)
  await env.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'], api_version: '2025-02-24.acacia' as Stripe.WebhookEndpointCreateParams.ApiVersion })
  const { pro, starter } = await catalog(env)
  const { sub } = await subscribedOnClock(env, pro.id)
  const schedule = await downgradeAtPeriodEnd(env, sub, starter.id)
  const updated = await waitFor(() => receiver.received.find(r => r.event.type === 'subscription_schedule.updated')?.event)
  t.equal(updated.api_version, '2025-02-24.acacia')
  t.equal(updated.data.object.id, schedule.id)
  t.same(updated.data.object.phases.map((p: any) => [p.coupon, p.billing_thresholds, p.items[0].billing_thresholds]), [[null, null, null], [null, null, null]])
  t.equal(updated.data.object.default_settings.billing_thresholds, null)
  t.same(Object.keys(updated.data.previous_attributes), ['phases'])
  const attached = await waitFor(() => receiver.received.find(r => r.event.type === 'customer.subscription.updated')?.event.data)
  t.match(attached, { object: { schedule: schedule.id, current_period_end: sub.items.data[0]!.current_period_end }, previous_attributes: { schedule: null } })
})

t.test('a subscription a schedule starts during an advance renews in that same advance', async t => {
  const env = await startEmulator(t)
  const { pro } = await catalog(env)
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const customer = await env.stripe.customers.create({ test_clock: clock.id, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } })
  const start = T0 + 5 * DAY
  const schedule = await env.stripe.subscriptionSchedules.create({ customer: customer.id, start_date: start, phases: [{ items: [{ price: pro.id }], iterations: 3 } as Stripe.SubscriptionScheduleCreateParams.Phase] })
  await advanceClock(env.stripe, clock.id, start + 40 * DAY)
  const sub = (await env.stripe.subscriptionSchedules.retrieve(schedule.id)).subscription as string
  const invoices = (await env.stripe.invoices.list({ subscription: sub })).data.reverse()
  t.same(invoices.map(i => i.billing_reason), ['subscription_create', 'subscription_cycle'])
  t.equal(invoices[0]!.created, start)
})
