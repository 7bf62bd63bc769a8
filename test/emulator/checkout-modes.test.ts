import t from 'tap'
import type Stripe from 'stripe'
import { DAY, seedCatalog, startEmulator, startReceiver, waitFor } from './helpers.js'
import { typesOf } from './flows.js'

type Env = Awaited<ReturnType<typeof startEmulator>>

async function setup (t: Parameters<typeof startEmulator>[0]) {
  const receiver = await startReceiver(t)
  const env = await startEmulator(t, { webhookUrl: receiver.url, webhookSecrets: ['whsec_test'] })
  const catalog = await seedCatalog(env.stripe)
  const oneTime = await env.stripe.prices.create({ product: catalog.product.id, currency: 'usd', unit_amount: 1500 })
  return { env, receiver, oneTime, ...catalog }
}

const session = (env: Env, params: Partial<Stripe.Checkout.SessionCreateParams>) => env.stripe.checkout.sessions.create({
  success_url: 'https://example.com/ok', cancel_url: 'https://example.com/cancel', ...params
} as Stripe.Checkout.SessionCreateParams)

t.test('payment mode: a PaymentIntent pays the session; no customer unless asked for', async t => {
  const { env, oneTime } = await setup(t)
  const s = await session(env, { mode: 'payment', line_items: [{ price: oneTime.id, quantity: 2 }], customer_email: 'buyer@example.com' })
  t.match(s, { mode: 'payment', amount_total: 3000, payment_status: 'unpaid', payment_intent: null, status: 'open' })
  const done = await env.control(`checkout/${s.id}/complete`, { outcome: 'paid' })
  t.match(done, { status: 'complete', payment_status: 'paid', customer: null, subscription: null, customer_details: { email: 'buyer@example.com' } })
  const pi = await env.stripe.paymentIntents.retrieve(done.payment_intent)
  t.match(pi, { status: 'succeeded', amount: 3000 })
  t.same(await typesOf(env.stripe, pi.id), ['payment_intent.created', 'payment_intent.succeeded'])
  t.same((await env.stripe.customers.list()).data, [], 'customer_creation if_required: no customer')
  const recurring = await session(env, { mode: 'payment', line_items: [{ price: (await env.stripe.prices.list({ type: 'recurring' })).data[0]!.id, quantity: 1 }] }).catch(e => e)
  t.match(recurring, { statusCode: 400, message: /recurring price/ })
})

t.test('setup mode: a SetupIntent saves the card to the customer', async t => {
  const { env } = await setup(t)
  const customer = await env.stripe.customers.create({ email: 'setup@example.com' })
  const s = await session(env, { mode: 'setup', customer: customer.id, currency: 'usd' })
  t.match(s, { mode: 'setup', amount_total: null, payment_status: 'no_payment_required' })
  const done = await env.control(`checkout/${s.id}/complete`, { outcome: 'paid' })
  const si = await env.stripe.setupIntents.retrieve(done.setup_intent)
  t.match(si, { status: 'succeeded', customer: customer.id })
  t.same((await env.stripe.paymentMethods.list({ customer: customer.id })).data.map(pm => pm.id), [si.payment_method])
  t.same(await typesOf(env.stripe, si.id), ['setup_intent.created', 'setup_intent.succeeded'])
})

t.test('an asynchronous payment completes unpaid, then succeeds or fails', async t => {
  const { env, receiver, pro } = await setup(t)
  const start = async (email: string) => {
    const s = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], customer_email: email })
    return await env.control(`checkout/${s.id}/complete`, { outcome: 'processing' })
  }
  const good = await start('good@example.com')
  t.match(good, { status: 'complete', payment_status: 'unpaid' })
  t.equal((await env.stripe.subscriptions.retrieve(good.subscription)).status, 'incomplete', 'no access while the debit is processing')
  const pi = (await env.stripe.invoices.retrieve(good.invoice, { expand: ['payment_intent'] }) as any).payment_intent as Stripe.PaymentIntent
  t.equal(pi.status, 'processing')
  await env.control('clock/advance', { seconds: 2 * DAY })
  t.equal((await env.stripe.subscriptions.retrieve(good.subscription)).status, 'incomplete', 'a processing payment keeps it from expiring')
  const settled = await env.control(`checkout/${good.id}/async`, { outcome: 'succeeded' })
  t.equal(settled.payment_status, 'paid')
  t.equal((await env.stripe.subscriptions.retrieve(good.subscription)).status, 'active')
  t.equal((await env.stripe.invoices.retrieve(good.invoice)).status, 'paid')
  const succeeded = await waitFor(() => receiver.received.find(r => r.event.type === 'checkout.session.async_payment_succeeded'))
  t.equal(succeeded.event.data.object.id, good.id)

  const bad = await start('bad@example.com')
  const failed = await env.control(`checkout/${bad.id}/async`, { outcome: 'failed' })
  t.equal(failed.payment_status, 'unpaid')
  t.equal((await env.stripe.subscriptions.retrieve(bad.subscription)).status, 'incomplete')
  t.same((await typesOf(env.stripe, bad.id)).slice(-2), ['checkout.session.completed', 'checkout.session.async_payment_failed'])
  t.equal((await typesOf(env.stripe, bad.invoice)).at(-1), 'invoice.payment_failed')
  const twice = await fetch(`${env.url}/_emulator/checkout/${bad.id}/async`, { method: 'POST', body: JSON.stringify({ outcome: 'succeeded' }) })
  t.equal(twice.status, 400, 'a settled payment does not settle again')
})

t.test('a trial with payment_method_collection=if_required completes without a card', async t => {
  const { env, pro } = await setup(t)
  const s = await session(env, {
    mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], customer_email: 'trial@example.com', payment_method_collection: 'if_required',
    subscription_data: { trial_period_days: 14, trial_settings: { end_behavior: { missing_payment_method: 'cancel' } }, metadata: { user_id: 'u_trial' } }
  })
  t.match(s, { amount_total: 0, amount_subtotal: 2000, payment_method_collection: 'if_required' })
  const page = await (await fetch(s.url!)).text()
  t.match(page, 'id="no-card"', 'the page asks for no card')
  const done = await env.control(`checkout/${s.id}/complete`, { outcome: 'paid' })
  t.equal(done.payment_status, 'no_payment_required')
  const sub = await env.stripe.subscriptions.retrieve(done.subscription)
  t.match(sub, { status: 'trialing', default_payment_method: null, metadata: { user_id: 'u_trial' }, trial_settings: { end_behavior: { missing_payment_method: 'cancel' } } })
  t.same((await env.stripe.paymentMethods.list({ customer: done.customer })).data, [], 'no card saved')
  await env.control('clock/advance', { seconds: 15 * DAY })
  t.equal((await env.stripe.subscriptions.retrieve(done.subscription)).status, 'canceled', 'the trial ends without a card: canceled')

  const always = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], subscription_data: { trial_period_days: 7 } })
  const withCard = await env.control(`checkout/${always.id}/complete`, { outcome: 'paid' })
  const trialing = await env.stripe.subscriptions.retrieve(withCard.subscription)
  t.match(trialing, { status: 'trialing', default_payment_method: /^pm_/ }, 'payment_method_collection=always saves the card')
})

t.test('sessions expire: on request, and at expires_at on the clock', async t => {
  const { env, receiver, pro } = await setup(t)
  const a = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }] })
  const expired = await env.stripe.checkout.sessions.expire(a.id)
  t.match(expired, { status: 'expired', url: null })
  const again = await env.stripe.checkout.sessions.expire(a.id).catch(e => e)
  t.equal(again.statusCode, 400)
  const b = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }] })
  t.equal(b.expires_at, b.created + DAY)
  const tooSoon = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], expires_at: b.created + 60 }).catch(e => e)
  t.equal(tooSoon.param, 'expires_at')
  await env.control('clock/advance', { seconds: DAY + 60 })
  const later = await env.stripe.checkout.sessions.retrieve(b.id)
  t.equal(later.status, 'expired')
  const event = (await env.stripe.events.list({ type: 'checkout.session.expired' })).data.find(e => (e.data.object as any).id === b.id)
  t.equal(event?.created, b.expires_at, 'expired at expires_at')
  await waitFor(() => receiver.received.filter(r => r.event.type === 'checkout.session.expired').length === 2)
})

t.test('a declined card leaves the session open; discounts are checked and echoed', async t => {
  const { env, pro } = await setup(t)
  const s = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], allow_promotion_codes: true })
  t.equal(s.allow_promotion_codes, true)
  const declined = await env.control(`checkout/${s.id}/complete`, { outcome: 'declined' })
  t.match(declined, { status: 'open', subscription: null })
  t.same((await env.stripe.subscriptions.list({ status: 'all' })).data, [])
  const paid = await env.control(`checkout/${s.id}/complete`, { outcome: 'paid' })
  t.equal(paid.status, 'complete')
  const unknown = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], discounts: [{ coupon: 'SPRING' }] }).catch(e => e)
  t.match(unknown, { statusCode: 404, code: 'resource_missing', param: 'discounts[0][coupon]' })
  await env.stripe.coupons.create({ id: 'SPRING', percent_off: 10 })
  const withDiscount = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], discounts: [{ coupon: 'SPRING' }] })
  t.same(withDiscount.discounts, [{ coupon: 'SPRING', promotion_code: null }])
  t.match(withDiscount, { amount_subtotal: 2000, amount_total: 1800, total_details: { amount_discount: 200 } })
  const both = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], discounts: [{ coupon: 'SPRING' }], allow_promotion_codes: true }).catch(e => e)
  t.match(both, { statusCode: 400, message: /only specify one of/ })
})

t.test('the API Stripe’s page calls (stripe trigger): a card pays, a SEPA debit settles by itself, a decline is a 402', async t => {
  const receiver = await startReceiver(t)
  const env = await startEmulator(t, { webhookUrl: receiver.url, webhookSecrets: ['whsec_test'], asyncSettleMs: 50 })
  const { product } = await seedCatalog(env.stripe)
  const eur = await env.stripe.prices.create({ product: product.id, unit_amount: 1500, currency: 'eur' })
  const post = async (path: string, body: string) => {
    const res = await fetch(`${env.url}/v1/${path}`, { method: 'POST', body, headers: { authorization: 'Bearer sk_test_x', 'content-type': 'application/x-www-form-urlencoded' } })
    return { status: res.status, body: await res.json() as any }
  }
  // `payment_method_types` is the wire parameter the emulator takes; the SDK's types now call it allowed_payment_method_types.
  const start = () => session(env, { mode: 'payment', line_items: [{ price: eur.id, quantity: 2 }], payment_method_types: ['sepa_debit'] } as Partial<Stripe.Checkout.SessionCreateParams>)
  const sepa = async (iban: string) => (await env.stripe.paymentMethods.create({ type: 'sepa_debit', sepa_debit: { iban } })).id

  const good = await start()
  t.equal((await fetch(`${env.url}/v1/payment_pages/${good.id}`, { headers: { authorization: 'Bearer sk_test_x' } })).status, 200)
  const wrongAmount = await post(`payment_pages/${good.id}/confirm`, `payment_method=${await sepa('AT611904300234573201')}&expected_amount=1`)
  t.equal(wrongAmount.status, 400)
  const confirmed = await post(`payment_pages/${good.id}/confirm`, `payment_method=${await sepa('AT611904300234573201')}&expected_amount=3000`)
  t.match(confirmed.body, { status: 'complete', payment_status: 'unpaid' })
  const succeeded = await waitFor(() => receiver.received.find(r => r.event.type === 'checkout.session.async_payment_succeeded'))
  t.match(succeeded.event.data.object, { id: good.id, payment_status: 'paid' })

  const bad = await start()
  await post(`payment_pages/${bad.id}/confirm`, `payment_method=${await sepa('AT861904300235473202')}&expected_amount=3000`)
  const failed = await waitFor(() => receiver.received.find(r => r.event.type === 'checkout.session.async_payment_failed'))
  t.equal(failed.event.data.object.id, bad.id)

  const usd = await session(env, { mode: 'payment', line_items: [{ price: (await env.stripe.prices.create({ product: product.id, unit_amount: 900, currency: 'usd' })).id, quantity: 1 }] })
  const declined = await post(`payment_pages/${usd.id}/confirm`, 'payment_method=pm_card_chargeDeclined&expected_amount=900')
  t.match(declined, { status: 402, body: { error: { type: 'card_error', code: 'card_declined' } } })
  t.equal((await env.stripe.checkout.sessions.retrieve(usd.id)).status, 'open')
  const paid = await post(`payment_pages/${usd.id}/confirm`, 'payment_method=pm_card_visa&expected_amount=900')
  t.match(paid.body, { status: 'complete', payment_status: 'paid' })
})

t.test('the hosted page asks for 3-D Secure with 4000 0027 6000 3184; passing it pays, failing it keeps the session open', async t => {
  const { env, pro } = await setup(t)
  const s = await session(env, { mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], customer_email: '3ds@example.com' })
  const post = (body: string) => fetch(s.url!, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
  const challenge = await post('card_number=4000002760003184&action=pay')
  t.match(await challenge.text(), /id="authenticate-complete"/)
  const failed = await post('card_number=4000002760003184&action=authenticate_fail')
  t.equal(failed.status, 402)
  t.equal((await env.stripe.checkout.sessions.retrieve(s.id)).status, 'open')
  const passed = await post('card_number=4000002760003184&action=authenticate_complete')
  t.equal(passed.status, 303)
  const done = await env.stripe.checkout.sessions.retrieve(s.id)
  t.match(done, { status: 'complete', payment_status: 'paid' })
  t.equal((await env.stripe.subscriptions.retrieve(done.subscription as string)).status, 'active')
})

t.test('next_action points at a challenge page that passes or fails the authentication', async t => {
  const { env, pro } = await setup(t)
  const start = async () => {
    const customer = await env.stripe.customers.create({ payment_method: 'pm_card_authenticationRequired', invoice_settings: { default_payment_method: 'pm_card_authenticationRequired' } })
    const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], expand: ['latest_invoice.payment_intent'] })
    return { sub, pi: (sub.latest_invoice as any).payment_intent as Stripe.PaymentIntent }
  }
  const { sub, pi } = await start()
  const url = (pi.next_action as any).use_stripe_sdk.stripe_js as string
  t.match(await (await fetch(url)).text(), /id="authenticate-fail"/)
  const failed = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=fail' })
  t.match(await failed.text(), /Authentication failed/)
  t.match(await env.stripe.paymentIntents.retrieve(pi.id), { status: 'requires_payment_method', last_payment_error: { code: 'payment_intent_authentication_failure' } })
  t.equal((await typesOf(env.stripe, (sub.latest_invoice as Stripe.Invoice).id)).at(-1), 'invoice.payment_failed')
  t.equal((await fetch(url)).status, 410, 'nothing left to authenticate')
  const second = await start()
  await fetch((second.pi.next_action as any).use_stripe_sdk.stripe_js, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=complete' })
  t.equal((await env.stripe.subscriptions.retrieve(second.sub.id)).status, 'active')
})
