import t from 'tap'
import type Stripe from 'stripe'
import { DAY, seedCatalog, startEmulator } from './helpers.js'
import { advanceClock, customerWithCard, eventsOf, T0, typesOf } from './flows.js'

async function onClock (t: Parameters<typeof startEmulator>[0], card: string | null) {
  const env = await startEmulator(t)
  const { pro } = await seedCatalog(env.stripe)
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const customer = card
    ? await customerWithCard(env, card, { test_clock: clock.id })
    : await env.stripe.customers.create({ email: 'trial@example.com', test_clock: clock.id })
  return { env, pro, clock, customer }
}

t.test('a trial with a card converts to active with a paid invoice; trial_will_end comes three days before', async t => {
  const { env, pro, clock, customer } = await onClock(t, 'pm_card_visa')
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], trial_period_days: 14 })
  t.match(sub, { status: 'trialing', trial_start: T0, trial_end: T0 + 14 * DAY, test_clock: clock.id })
  t.equal(sub.items.data[0]!.current_period_end, T0 + 14 * DAY, 'the first period is the trial')
  const first = await env.stripe.invoices.retrieve(sub.latest_invoice as string)
  t.match(first, { status: 'paid', amount_due: 0, total: 0, billing_reason: 'subscription_create' })
  t.match(first.lines.data[0]!.description, /^Trial period for /)

  await advanceClock(env.stripe, clock.id, T0 + 12 * DAY)
  const notice = (await eventsOf(env.stripe, sub.id)).find(e => e.type === 'customer.subscription.trial_will_end')
  t.equal(notice?.created, T0 + 11 * DAY, 'three days before the trial ends, on the clock')
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).status, 'trialing')

  await advanceClock(env.stripe, clock.id, T0 + 15 * DAY)
  const converted = await env.stripe.subscriptions.retrieve(sub.id)
  t.match(converted, { status: 'active', trial_end: T0 + 14 * DAY })
  t.equal(converted.items.data[0]!.current_period_start, T0 + 14 * DAY)
  const [invoice] = (await env.stripe.invoices.list({ subscription: sub.id, limit: 1 })).data
  t.match(invoice, { status: 'paid', amount_paid: 2000, billing_reason: 'subscription_cycle', created: T0 + 14 * DAY })
  const update = (await eventsOf(env.stripe, sub.id)).filter(e => e.type === 'customer.subscription.updated').at(-1)!
  t.match(update, { created: T0 + 14 * DAY, data: { object: { status: 'active' }, previous_attributes: { status: 'trialing' } } })
  t.equal((await eventsOf(env.stripe, sub.id)).filter(e => e.type === 'customer.subscription.trial_will_end').length, 1, 'one notice per trial')
})

t.test('a trial shorter than three days gets its notice at once', async t => {
  const { env, pro, customer } = await onClock(t, 'pm_card_visa')
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], trial_period_days: 1 })
  const notice = (await eventsOf(env.stripe, sub.id)).find(e => e.type === 'customer.subscription.trial_will_end')
  t.equal(notice?.created, T0)
})

t.test('a trial that ends without a payment method: cancel, pause or invoice, as trial_settings say', async t => {
  const { env, pro, clock, customer } = await onClock(t, null)
  const make = (missing: 'cancel' | 'pause' | 'create_invoice') => env.stripe.subscriptions.create({
    customer: customer.id, items: [{ price: pro.id }], trial_period_days: 7, trial_settings: { end_behavior: { missing_payment_method: missing } }
  })
  const canceled = await make('cancel')
  const paused = await make('pause')
  const invoiced = await make('create_invoice')
  await advanceClock(env.stripe, clock.id, T0 + 8 * DAY)

  const c = await env.stripe.subscriptions.retrieve(canceled.id)
  t.match(c, { status: 'canceled', ended_at: T0 + 7 * DAY })
  t.equal((await env.stripe.invoices.list({ subscription: canceled.id })).data.length, 1, 'no invoice for a canceled trial')
  t.equal((await typesOf(env.stripe, canceled.id)).at(-1), 'customer.subscription.deleted')

  const p = await env.stripe.subscriptions.retrieve(paused.id)
  t.equal(p.status, 'paused')
  t.same((await typesOf(env.stripe, paused.id)).slice(-2), ['customer.subscription.updated', 'customer.subscription.paused'])

  const i = await env.stripe.subscriptions.retrieve(invoiced.id)
  t.equal(i.status, 'past_due')
  const [open] = (await env.stripe.invoices.list({ subscription: invoiced.id, status: 'open' })).data
  t.match(open, { amount_due: 2000, attempt_count: 1 })
  t.ok(open!.next_payment_attempt, 'retried on the schedule')

  // A card and a resume bring the paused one back, with a paid invoice for the new period.
  const pm = await env.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id })
  await env.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } })
  const resumed = await env.stripe.subscriptions.resume(paused.id)
  t.equal(resumed.status, 'active')
  t.equal((await env.stripe.invoices.list({ subscription: paused.id, limit: 1 })).data[0]!.status, 'paid')
})

t.test('a trial whose card fails at the end goes past_due', async t => {
  const { env, pro, clock, customer } = await onClock(t, 'pm_card_chargeCustomerFail')
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], trial_period_days: 7 })
  t.equal(sub.status, 'trialing', 'nothing is charged during the trial')
  await advanceClock(env.stripe, clock.id, T0 + 8 * DAY)
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).status, 'past_due')
  t.ok((await env.stripe.events.list({ type: 'invoice.payment_failed' })).data.length >= 1)
})

t.test('trial_end "now" ends the trial at once (stripe trigger customer.subscription.paused)', async t => {
  const env = await startEmulator(t)
  const { pro } = await seedCatalog(env.stripe)
  const customer = await env.stripe.customers.create({ description: '(created by Stripe CLI)' })
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], trial_period_days: 7, trial_settings: { end_behavior: { missing_payment_method: 'pause' } } })
  const after = await env.stripe.subscriptions.update(sub.id, { trial_end: 'now' })
  t.equal(after.status, 'paused')
  const types = await typesOf(env.stripe, sub.id)
  t.ok(types.includes('customer.subscription.paused'))
  const extended = await env.stripe.subscriptions.update(sub.id, { trial_end: 10 } as Stripe.SubscriptionUpdateParams).catch(e => e)
  t.match(extended, { statusCode: 400, param: 'trial_end' })
})
