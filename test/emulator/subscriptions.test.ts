import t from 'tap'
import Stripe from 'stripe'
import { DAY, seedCatalog, startEmulator } from './helpers.js'
import { advanceClock, customerWithCard, eventsOf, T0, typesOf } from './flows.js'

async function setup (t: Parameters<typeof startEmulator>[0]) {
  const env = await startEmulator(t)
  return { env, ...await seedCatalog(env.stripe) }
}

t.test('a subscription created through the API with a working card is active, its first invoice paid by a charge', async t => {
  const { env, pro } = await setup(t)
  const customer = await customerWithCard(env)
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], metadata: { user_id: 'u1' }, expand: ['latest_invoice.payments'] })
  t.equal(sub.status, 'active')
  t.equal(sub.items.data[0]!.price.id, pro.id)
  const invoice = sub.latest_invoice as Stripe.Invoice
  t.match(invoice, { status: 'paid', amount_paid: 2000, billing_reason: 'subscription_create', attempt_count: 1 })
  const pi = await env.stripe.paymentIntents.retrieve(invoice.payments!.data[0]!.payment.payment_intent as string)
  t.match(pi, { status: 'succeeded', amount: 2000, customer: customer.id, payment_method: customer.invoice_settings.default_payment_method })
  const [charge] = (await env.stripe.charges.list({ payment_intent: pi.id })).data
  t.match(charge, { status: 'succeeded', paid: true, amount: 2000 })
  t.same(await typesOf(env.stripe, sub.id), ['customer.subscription.created'])
  t.same(await typesOf(env.stripe, invoice.id), ['invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded'])
  t.same(await typesOf(env.stripe, pi.id), ['payment_intent.created', 'payment_intent.succeeded'])
  t.same(await typesOf(env.stripe, charge!.id), ['charge.succeeded'])
  const created = (await eventsOf(env.stripe, sub.id))[0]!
  t.match(created.request, { id: /^req_/ }, 'caused by the API call')
})

t.test('error_if_incomplete: a card that fails is answered with a 402 and nothing is created', async t => {
  const { env, pro } = await setup(t)
  const customer = await customerWithCard(env, 'pm_card_chargeCustomerFail')
  const err = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], payment_behavior: 'error_if_incomplete' }).catch(e => e)
  t.type(err, Stripe.errors.StripeCardError)
  t.match(err, { statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' })
  t.same((await env.stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data, [])
  t.same((await env.stripe.invoices.list({ customer: customer.id })).data, [])
  const needsAuth = await customerWithCard(env, 'pm_card_authenticationRequired')
  const auth = await env.stripe.subscriptions.create({ customer: needsAuth.id, items: [{ price: pro.id }], payment_behavior: 'error_if_incomplete' }).catch(e => e)
  t.match(auth, { statusCode: 402, code: 'subscription_payment_intent_requires_action' })
  const noCard = await env.stripe.customers.create({ email: 'nocard@example.com' })
  const none = await env.stripe.subscriptions.create({ customer: noCard.id, items: [{ price: pro.id }], payment_behavior: 'error_if_incomplete' }).catch(e => e)
  t.match(none, { statusCode: 400, message: /no attached payment source or default payment method/ })
})

t.test('allow_incomplete: a declined first payment leaves the subscription incomplete until an invoice payment succeeds', async t => {
  const { env, pro } = await setup(t)
  const customer = await customerWithCard(env, 'pm_card_chargeCustomerFail')
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], expand: ['latest_invoice.payment_intent'] })
  t.equal(sub.status, 'incomplete')
  const invoice = sub.latest_invoice as Stripe.Invoice & { payment_intent: Stripe.PaymentIntent }
  t.match(invoice, { status: 'open', attempt_count: 1, next_payment_attempt: null })
  t.match(invoice.payment_intent, { status: 'requires_payment_method', last_payment_error: { code: 'card_declined', decline_code: 'generic_decline' } })
  t.same(await typesOf(env.stripe, invoice.id), ['invoice.created', 'invoice.finalized', 'invoice.payment_failed'])
  t.same(await typesOf(env.stripe, invoice.payment_intent.id), ['payment_intent.created', 'payment_intent.payment_failed'])

  const visa = await env.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id })
  const paid = await env.stripe.invoices.pay(invoice.id, { payment_method: visa.id })
  t.match(paid, { status: 'paid', attempt_count: 2 })
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).status, 'active')
  const updated = (await eventsOf(env.stripe, sub.id)).filter(e => e.type === 'customer.subscription.updated')
  t.same(updated.map(e => [(e.data.previous_attributes as any).status, (e.data.object as Stripe.Subscription).status]), [['incomplete', 'active']])
})

t.test('default_incomplete: nothing is charged until the client confirms the first PaymentIntent', async t => {
  const { env, pro } = await setup(t)
  const customer = await env.stripe.customers.create({ email: 'dfi@example.com' })
  const sub = await env.stripe.subscriptions.create({
    customer: customer.id, items: [{ price: pro.id }], payment_behavior: 'default_incomplete',
    payment_settings: { save_default_payment_method: 'on_subscription' }, expand: ['latest_invoice.confirmation_secret', 'latest_invoice.payment_intent']
  })
  t.equal(sub.status, 'incomplete')
  const invoice = sub.latest_invoice as Stripe.Invoice & { payment_intent: Stripe.PaymentIntent }
  t.match(invoice, { status: 'open', attempt_count: 0 })
  t.equal(invoice.confirmation_secret?.client_secret, invoice.payment_intent.client_secret)
  t.equal(invoice.payment_intent.status, 'requires_payment_method')
  t.same((await env.stripe.charges.list({ customer: customer.id })).data, [], 'no charge yet')

  const confirmed = await env.stripe.paymentIntents.confirm(invoice.payment_intent.id, { payment_method: 'pm_card_visa' })
  t.equal(confirmed.status, 'succeeded')
  const after = await env.stripe.subscriptions.retrieve(sub.id)
  t.equal(after.status, 'active')
  t.equal(after.default_payment_method, confirmed.payment_method, 'save_default_payment_method keeps the card that paid')
  t.equal((await env.stripe.invoices.retrieve(invoice.id)).status, 'paid')

  // A customer with a default card is not charged either: the intent waits for confirmation with it.
  const carded = await customerWithCard(env)
  const waiting = await env.stripe.subscriptions.create({ customer: carded.id, items: [{ price: pro.id }], payment_behavior: 'default_incomplete', expand: ['latest_invoice.payment_intent'] })
  t.equal(waiting.status, 'incomplete')
  const intent = (waiting.latest_invoice as any).payment_intent as Stripe.PaymentIntent
  t.match(intent, { status: 'requires_confirmation', payment_method: carded.invoice_settings.default_payment_method })
  t.same((await env.stripe.charges.list({ customer: carded.id })).data, [], 'no charge until confirmed')
  t.equal((await env.stripe.paymentIntents.confirm(intent.id)).status, 'succeeded')
  t.equal((await env.stripe.subscriptions.retrieve(waiting.id)).status, 'active')
})

t.test('a card that needs 3-D Secure: requires_action and invoice.payment_action_required; confirming with a card that pays completes it', async t => {
  const { env, pro } = await setup(t)
  const customer = await customerWithCard(env, 'pm_card_authenticationRequired')
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], expand: ['latest_invoice.payment_intent'] })
  t.equal(sub.status, 'incomplete')
  const invoice = sub.latest_invoice as Stripe.Invoice & { payment_intent: Stripe.PaymentIntent }
  t.match(invoice.payment_intent, { status: 'requires_action', next_action: { type: 'use_stripe_sdk' } })
  t.same(await typesOf(env.stripe, invoice.id), ['invoice.created', 'invoice.finalized', 'invoice.payment_action_required'])
  const again = await env.stripe.paymentIntents.confirm(invoice.payment_intent.id)
  t.equal(again.status, 'requires_action', 'the same card still asks for authentication')
  const confirmed = await env.stripe.paymentIntents.confirm(invoice.payment_intent.id, { payment_method: 'pm_card_visa' })
  t.equal(confirmed.status, 'succeeded')
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).status, 'active')

  // The customer can also pass the challenge with the card that asked for it.
  const other = await customerWithCard(env, 'pm_card_authenticationRequired', { email: 'other@example.com' })
  const second = await env.stripe.subscriptions.create({ customer: other.id, items: [{ price: pro.id }], expand: ['latest_invoice.payment_intent'] })
  const pi = (second.latest_invoice as any).payment_intent as Stripe.PaymentIntent
  await env.control(`payment_intents/${pi.id}/authenticate`, { outcome: 'succeeded' })
  t.equal((await env.stripe.subscriptions.retrieve(second.id)).status, 'active')
  t.equal((await env.stripe.paymentIntents.retrieve(pi.id)).status, 'succeeded')
})

t.test('an incomplete subscription expires 23 hours after creation, in its test clock’s time', async t => {
  const { env, pro } = await setup(t)
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const customer = await customerWithCard(env, 'pm_card_chargeCustomerFail', { test_clock: clock.id })
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }] })
  t.equal(sub.status, 'incomplete')
  await advanceClock(env.stripe, clock.id, T0 + 22 * 3600)
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).status, 'incomplete', 'still incomplete after 22 hours')
  await advanceClock(env.stripe, clock.id, T0 + 24 * 3600)
  const expired = await env.stripe.subscriptions.retrieve(sub.id)
  t.match(expired, { status: 'incomplete_expired', ended_at: T0 + 23 * 3600 })
  const invoice = await env.stripe.invoices.retrieve(sub.latest_invoice as string)
  t.equal(invoice.status, 'void')
  const last = (await eventsOf(env.stripe, sub.id)).at(-1)!
  t.match(last, { type: 'customer.subscription.updated', created: T0 + 23 * 3600, data: { object: { status: 'incomplete_expired' }, previous_attributes: { status: 'incomplete' } } })
  t.same((await env.stripe.subscriptions.list({ customer: customer.id })).data, [], 'ended subscriptions are not listed by default')
})

t.test('when retries run out the subscription is canceled, or left unpaid when the account says so', async t => {
  const { env, pro } = await setup(t)
  await env.control('settings', { retries_exhausted: 'unpaid', retry_schedule_days: [1, 2] })
  const customer = await customerWithCard(env)
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }] })
  await env.control(`customers/${customer.id}/fail-payments`, { fail: true })
  await env.control('clock/advance', { seconds: 31 * DAY })
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).status, 'past_due')
  await env.control('clock/advance', { seconds: 4 * DAY })
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).status, 'unpaid')
  const failed = (await env.stripe.events.list({ type: 'invoice.payment_failed' })).data
  t.equal(failed.length, 3, 'the attempt and two retries')
  // An unpaid subscription keeps invoicing without charging.
  await env.control(`customers/${customer.id}/fail-payments`, { fail: false })
  await env.control('clock/advance', { seconds: 30 * DAY })
  const [latest] = (await env.stripe.invoices.list({ subscription: sub.id, limit: 1 })).data
  t.match(latest, { status: 'open', attempt_count: 0 })
  await env.stripe.invoices.pay(latest!.id)
  t.equal((await env.stripe.subscriptions.retrieve(sub.id)).status, 'active', 'paying the latest invoice makes it active again')
})

t.test('pause_collection keeps the status and holds the invoices; pause and resume change it', async t => {
  const { env, pro } = await setup(t)
  const customer = await customerWithCard(env)
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }] })
  const held = await env.stripe.subscriptions.update(sub.id, { pause_collection: { behavior: 'void' } })
  t.match(held, { status: 'active', pause_collection: { behavior: 'void', resumes_at: null } })
  await env.control('clock/advance', { seconds: 31 * DAY })
  const [renewal] = (await env.stripe.invoices.list({ subscription: sub.id, limit: 1 })).data
  t.match(renewal, { billing_reason: 'subscription_cycle', status: 'void' })
  await env.stripe.subscriptions.update(sub.id, { pause_collection: '' })

  const paused = await env.stripe.subscriptions.pause(sub.id)
  t.equal(paused.status, 'paused')
  t.same((await typesOf(env.stripe, sub.id)).slice(-2), ['customer.subscription.updated', 'customer.subscription.paused'])
  await env.control('clock/advance', { seconds: 40 * DAY })
  t.equal((await env.stripe.invoices.list({ subscription: sub.id })).data.length, 2, 'no invoices while paused')
  const resumed = await env.stripe.subscriptions.resume(sub.id)
  t.equal(resumed.status, 'active')
  const [invoice] = (await env.stripe.invoices.list({ subscription: sub.id, limit: 1 })).data
  t.match(invoice, { status: 'paid', amount_paid: 2000 })
  t.equal(resumed.items.data[0]!.current_period_start, invoice!.lines.data[0]!.period.start, 'a new period starts now')
  t.equal(resumed.billing_cycle_anchor, resumed.items.data[0]!.current_period_start, 'and anchors the billing cycle')
  t.equal((await typesOf(env.stripe, sub.id)).at(-1), 'customer.subscription.resumed')
  const notPaused = await env.stripe.subscriptions.resume(sub.id).catch(e => e)
  t.equal(notPaused.statusCode, 400)
})

t.test('cancel_at ends the subscription at that moment; cancel_at_period_end at the period end', async t => {
  const { env, pro } = await setup(t)
  const customer = await customerWithCard(env)
  const now = (await env.control('clock')).now
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], cancel_at: now + 10 * DAY })
  t.equal(sub.cancel_at, now + 10 * DAY)
  await env.control('clock/advance', { seconds: 11 * DAY })
  const ended = await env.stripe.subscriptions.retrieve(sub.id)
  t.match(ended, { status: 'canceled', ended_at: now + 10 * DAY, cancellation_details: { reason: 'cancellation_requested' } })
})

t.test('parameters Stripe does not know are refused with its message', async t => {
  const { env, pro } = await setup(t)
  const customer = await customerWithCard(env)
  const unknown = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], colour: 'blue' } as any).catch(e => e)
  t.match(unknown, { statusCode: 400, type: 'StripeInvalidRequestError', message: 'Received unknown parameter: colour', param: 'colour' })
  const nested = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id, colour: 'blue' }] } as any).catch(e => e)
  t.match(nested, { message: 'Received unknown parameter: items[0][colour]' })
  const badEnum = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], payment_behavior: 'sometimes' } as any).catch(e => e)
  t.match(badEnum, { statusCode: 400, message: /^Invalid payment_behavior: must be one of allow_incomplete, / })
  const oneTime = await env.stripe.prices.create({ currency: 'usd', unit_amount: 500, product_data: { name: 'Setup fee' } })
  const notRecurring = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: oneTime.id }] }).catch(e => e)
  t.match(notRecurring, { statusCode: 400, param: 'items[0][price]' })
  const route = await fetch(`${env.url}/v1/quotes`, { method: 'POST', headers: { authorization: 'Bearer sk_test_x' } })
  t.equal(route.status, 404)
  t.same(await route.json(), { error: { type: 'invalid_request_error', message: 'Unrecognized request URL (POST: /v1/quotes).' } })
})
