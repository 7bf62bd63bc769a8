import t from 'tap'
import Stripe from 'stripe'
import { startEmulator, waitFor } from './helpers.js'
import { customerWithCard, typesOf } from './flows.js'

t.test('payment methods: test tokens and numbers, attach, list, default, detach', async t => {
  const env = await startEmulator(t)
  const customer = await env.stripe.customers.create({ email: 'pm@example.com' })
  const visa = await env.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id })
  t.match(visa, { id: /^pm_(?!card_)/, object: 'payment_method', type: 'card', customer: customer.id, card: { brand: 'visa', last4: '4242' } })
  const mc = await env.stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_mastercard' }, billing_details: { name: 'Jenny Rosen' } })
  t.match(mc, { customer: null, card: { brand: 'mastercard', last4: '4444' }, billing_details: { name: 'Jenny Rosen' } })
  await env.stripe.paymentMethods.attach(mc.id, { customer: customer.id })
  const numbered = await env.stripe.paymentMethods.create({ type: 'card', card: { number: '4000 0000 0000 0341', exp_month: 12, exp_year: 2034, cvc: '123' } as any })
  t.equal(numbered.card?.last4, '0341')
  const listed = await env.stripe.paymentMethods.list({ customer: customer.id, type: 'card' })
  t.same(listed.data.map(pm => pm.id), [mc.id, visa.id], 'newest first')
  t.same((await env.stripe.customers.listPaymentMethods(customer.id)).data.map(pm => pm.id), [mc.id, visa.id])

  const withDefault = await env.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: visa.id } })
  t.equal(withDefault.invoice_settings.default_payment_method, visa.id)
  const foreign = await env.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: numbered.id } }).catch(e => e)
  t.match(foreign, { statusCode: 400, param: 'invoice_settings[default_payment_method]', message: /must be attached to the customer/ })

  const detached = await env.stripe.paymentMethods.detach(visa.id)
  t.equal(detached.customer, null)
  t.equal((await env.stripe.customers.retrieve(customer.id) as Stripe.Customer).invoice_settings.default_payment_method, null, 'detaching the default clears it')
  t.same(await typesOf(env.stripe, visa.id), ['payment_method.attached', 'payment_method.detached'])
  const [detachedEvent] = (await env.stripe.events.list({ type: 'payment_method.detached' })).data
  t.same(detachedEvent!.data.previous_attributes, { customer: customer.id })

  const declined = await env.stripe.paymentMethods.attach('pm_card_chargeDeclined', { customer: customer.id }).catch(e => e)
  t.type(declined, Stripe.errors.StripeCardError)
  t.match(declined, { statusCode: 402, code: 'card_declined' })
  const failsLater = await env.stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: customer.id })
  t.equal(failsLater.customer, customer.id, 'chargeCustomerFail attaches; its charges fail')
  const missing = await env.stripe.paymentMethods.retrieve('pm_nonexistent').catch(e => e)
  t.match(missing, { statusCode: 404, code: 'resource_missing' })
})

t.test('a customer created with payment_method and invoice_settings.default_payment_method (as stripe trigger does)', async t => {
  const env = await startEmulator(t)
  const customer = await customerWithCard(env)
  const pm = customer.invoice_settings.default_payment_method as string
  t.match(pm, /^pm_/)
  t.equal((await env.stripe.paymentMethods.retrieve(pm)).customer, customer.id)
  t.same((await env.stripe.events.list()).data.map(e => e.type).reverse(), ['customer.created', 'payment_method.attached'])
})

t.test('PaymentIntents: confirm succeeds with a charge, a decline is a 402 naming the intent, cancel', async t => {
  const env = await startEmulator(t)
  const customer = await env.stripe.customers.create({ email: 'pi@example.com' })
  const pi = await env.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', customer: customer.id, payment_method: 'pm_card_visa', confirm: true, setup_future_usage: 'off_session' })
  t.match(pi, { status: 'succeeded', amount_received: 1500, latest_charge: /^ch_/ })
  t.equal((await env.stripe.paymentMethods.retrieve(pi.payment_method as string)).customer, customer.id, 'setup_future_usage attaches the card')
  t.match(await env.stripe.charges.retrieve(pi.latest_charge as string), { status: 'succeeded', customer: customer.id, payment_intent: pi.id })

  const open = await env.stripe.paymentIntents.create({ amount: 1500, currency: 'usd' })
  t.equal(open.status, 'requires_payment_method')
  const declined = await env.stripe.paymentIntents.confirm(open.id, { payment_method: 'pm_card_chargeDeclinedInsufficientFunds' }).catch(e => e)
  t.type(declined, Stripe.errors.StripeCardError)
  t.match(declined, { code: 'card_declined', decline_code: 'insufficient_funds', raw: { payment_intent: { id: open.id, status: 'requires_payment_method' } } })
  t.same(await typesOf(env.stripe, open.id), ['payment_intent.created', 'payment_intent.payment_failed'])
  t.equal((await env.stripe.charges.list({ payment_intent: open.id })).data[0]?.status, 'failed')
  const canceled = await env.stripe.paymentIntents.cancel(open.id, { cancellation_reason: 'abandoned' })
  t.match(canceled, { status: 'canceled', cancellation_reason: 'abandoned' })
  const offSession = await env.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true, off_session: true }).catch(e => e)
  t.match(offSession, { code: 'authentication_required' }, 'off-session payments that need 3-D Secure fail')
})

t.test('SetupIntents save a card to the customer; declines fail the setup; 3-D Secure asks first', async t => {
  const env = await startEmulator(t)
  const customer = await env.stripe.customers.create({ email: 'si@example.com' })
  // `payment_method_types` is the wire parameter the emulator takes; the SDK's types now call it allowed_payment_method_types.
  const si = await env.stripe.setupIntents.create({ customer: customer.id, payment_method: 'pm_card_visa', confirm: true, payment_method_types: ['card'] } as Stripe.SetupIntentCreateParams)
  t.equal(si.status, 'succeeded')
  t.equal((await env.stripe.paymentMethods.retrieve(si.payment_method as string)).customer, customer.id)
  t.same(await typesOf(env.stripe, si.id), ['setup_intent.created', 'setup_intent.succeeded'])
  const failing = await env.stripe.setupIntents.create({ customer: customer.id, payment_method: 'pm_card_chargeDeclined', confirm: true })
  t.match(failing, { status: 'requires_payment_method', last_setup_error: { code: 'card_declined' } })
  t.equal((await typesOf(env.stripe, failing.id)).at(-1), 'setup_intent.setup_failed')
  const auth = await env.stripe.setupIntents.create({ customer: customer.id, payment_method: 'pm_card_authenticationRequiredOnSetup', confirm: true })
  t.equal(auth.status, 'requires_action')
  await env.control(`payment_intents/${auth.id}/authenticate`, { outcome: 'succeeded' })
  t.equal((await env.stripe.setupIntents.retrieve(auth.id)).status, 'succeeded')
})

t.test('a one-off invoice (stripe trigger invoice.payment_failed / invoice.paid)', async t => {
  const env = await startEmulator(t)
  const customer = await env.stripe.customers.create({ description: '(created by Stripe CLI)' })
  const failing = await env.stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: customer.id })
  await env.stripe.invoiceItems.create({ amount: 2000, currency: 'usd', customer: customer.id, description: '(created by Stripe CLI)' })
  const invoice = await env.stripe.invoices.create({ customer: customer.id, description: '(created by Stripe CLI)', pending_invoice_items_behavior: 'include' })
  t.match(invoice, { status: 'draft', amount_due: 2000, billing_reason: 'manual', parent: null })
  const err = await env.stripe.invoices.pay(invoice.id, { payment_method: failing.id }).catch(e => e)
  t.type(err, Stripe.errors.StripeCardError)
  t.same(await typesOf(env.stripe, invoice.id), ['invoice.created', 'invoice.finalized', 'invoice.payment_failed'])
  const visa = await env.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id })
  const paid = await env.stripe.invoices.pay(invoice.id, { payment_method: visa.id })
  t.match(paid, { status: 'paid', amount_paid: 2000, attempt_count: 2 })
  t.same((await typesOf(env.stripe, invoice.id)).slice(-2), ['invoice.paid', 'invoice.payment_succeeded'])
  const threeDs = await env.stripe.paymentMethods.attach('pm_card_threeDSecure2Required', { customer: customer.id })
  await env.stripe.invoiceItems.create({ amount: 700, currency: 'usd', customer: customer.id })
  const second = await env.stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include' })
  const action = await env.stripe.invoices.pay(second.id, { payment_method: threeDs.id }).catch(e => e)
  t.match(action, { statusCode: 402, code: 'invoice_payment_intent_requires_action' })
  t.equal((await typesOf(env.stripe, second.id)).at(-1), 'invoice.payment_action_required')
  const voided = await env.stripe.invoices.voidInvoice(second.id)
  t.equal(voided.status, 'void')
})

t.test('a SEPA debit stays processing, then settles by itself as its test IBAN says', async t => {
  const env = await startEmulator(t, { asyncSettleMs: 50 })
  const pay = async (iban: string) => {
    const pm = await env.stripe.paymentMethods.create({ type: 'sepa_debit', sepa_debit: { iban }, billing_details: { name: 'Jenny Rosen', email: 'jenny@example.com' } })
    return await env.stripe.paymentIntents.create({ amount: 3000, currency: 'eur', payment_method: pm.id, payment_method_types: ['sepa_debit'], confirm: true } as Stripe.PaymentIntentCreateParams)
  }
  const good = await pay('AT611904300234573201')
  t.equal(good.status, 'processing')
  t.equal((await env.stripe.charges.retrieve(good.latest_charge as string)).status, 'pending')
  await waitFor(async () => (await env.stripe.paymentIntents.retrieve(good.id)).status === 'succeeded')
  t.equal((await env.stripe.charges.retrieve(good.latest_charge as string)).status, 'succeeded')
  const bad = await pay('AT861904300235473202')
  await waitFor(async () => (await env.stripe.paymentIntents.retrieve(bad.id)).status === 'requires_payment_method')
  t.same(await typesOf(env.stripe, bad.id), ['payment_intent.created', 'payment_intent.processing', 'payment_intent.payment_failed'])
})

t.test('manual capture: authorized first, captured later', async t => {
  const env = await startEmulator(t)
  const pi = await env.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', capture_method: 'manual', confirm: true })
  t.match(pi, { status: 'requires_capture', amount_capturable: 2000, amount_received: 0 })
  t.equal((await env.stripe.charges.retrieve(pi.latest_charge as string)).captured, false)
  const captured = await env.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1500 })
  t.match(captured, { status: 'succeeded', amount_received: 1500 })
  t.match(await env.stripe.charges.retrieve(pi.latest_charge as string), { captured: true, amount_captured: 1500 })
  t.same(await typesOf(env.stripe, pi.id), ['payment_intent.created', 'payment_intent.amount_capturable_updated', 'payment_intent.succeeded'])
})

t.test('source: tok_… (an older version’s parameter) gives the customer a default source that pays', async t => {
  const env = await startEmulator(t)
  const price = await env.stripe.prices.create({ currency: 'usd', unit_amount: 1500, recurring: { interval: 'month' }, product_data: { name: 'Pro' } })
  const customer = await env.stripe.customers.create({ source: 'tok_visa' } as Stripe.CustomerCreateParams)
  t.match(customer.default_source, /^pm_/)
  t.equal((await env.stripe.paymentMethods.retrieve(customer.default_source as string)).customer, customer.id)
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], expand: ['latest_invoice'] })
  t.match(sub, { status: 'active', latest_invoice: { status: 'paid', amount_paid: 1500 } })
  const before = (await env.stripe.customers.list()).data.length
  const declined = await env.stripe.customers.create({ source: 'tok_chargeDeclined' } as Stripe.CustomerCreateParams).catch(e => e)
  t.match(declined, { statusCode: 402, code: 'card_declined' })
  t.equal((await env.stripe.customers.list()).data.length, before, 'a declining card creates no customer')
})
