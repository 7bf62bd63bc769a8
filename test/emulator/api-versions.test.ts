import t from 'tap'
import Stripe from 'stripe'
import { createEmulator } from '../../emulator/index.js'
import { LATEST_VERSION } from '../../emulator/versions/names.js'
import { DAY, seedCatalog, startEmulator, startReceiver, subscribe } from './helpers.js'
import { waitFor } from '../helpers/env.js'

const ACACIA = '2025-02-24.acacia'

t.test('the emulator speaks the SDK\'s pinned version', async t => {
  t.equal(LATEST_VERSION, Stripe.API_VERSION)
})

t.test('an endpoint on 2025-02-24.acacia receives that version\'s shapes; one without a version gets the account default', async t => {
  const [old, current] = [await startReceiver(t), await startReceiver(t)]
  const env = await startEmulator(t)
  const oldEndpoint = await env.stripe.webhookEndpoints.create({ url: old.url, enabled_events: ['*'], api_version: ACACIA as Stripe.WebhookEndpointCreateParams.ApiVersion })
  t.equal(oldEndpoint.api_version, ACACIA)
  const currentEndpoint = await env.stripe.webhookEndpoints.create({ url: current.url, enabled_events: ['*'] })
  const { pro, business } = await seedCatalog(env.stripe)
  const { subscriptionId } = await subscribe(env, pro.id)
  await env.stripe.subscriptions.update(subscriptionId, {
    items: [{ id: (await env.stripe.subscriptions.retrieve(subscriptionId)).items.data[0]!.id, price: business.id }],
    proration_behavior: 'always_invoice'
  })
  await env.control('clock/advance', { seconds: 32 * DAY })
  const done = (r: typeof old) => r.received.filter(x => x.event.type === 'invoice.paid').length === 3
  await waitFor(() => done(old) && done(current), 'three paid invoices at both endpoints')
  const verifier = new Stripe('sk_test_x')
  const events = old.received.map(r => verifier.webhooks.constructEvent(r.body, String(r.headers['stripe-signature']), oldEndpoint.secret!)) as any[]
  t.ok(events.every(e => e.api_version === ACACIA))
  t.ok(current.received.every(r => r.event.api_version === Stripe.API_VERSION))

  const created = events.find(e => e.type === 'customer.subscription.created').data.object
  const item = created.items.data[0]
  t.equal(created.current_period_start, created.start_date)
  t.ok(created.current_period_end > created.current_period_start)
  t.notOk('current_period_start' in item, 'no item-level period before basil')
  t.equal(item.billing_thresholds, null)
  t.equal(created.discount, null)
  t.equal(item.price.recurring.aggregate_usage, null)
  t.equal(item.plan.aggregate_usage, null)

  const firstPaid = events.find(e => e.type === 'invoice.paid' && e.data.object.billing_reason === 'subscription_create').data.object
  t.match(firstPaid, { subscription: subscriptionId, subscription_details: { metadata: { userId: 'user_123' } }, paid: true, paid_out_of_band: false, total_tax_amounts: [] })
  for (const gone of ['parent', 'payments', 'total_taxes', 'amount_overpaid']) t.notOk(gone in firstPaid, `no invoice.${gone}`)
  const line = firstPaid.lines.data[0]
  t.match(line, { type: 'subscription', subscription: subscriptionId, subscription_item: item.id, invoice_item: null, proration: false, price: { id: pro.id, object: 'price' }, plan: { id: pro.id, object: 'plan' } })
  t.notOk('parent' in line || 'pricing' in line || 'taxes' in line)

  const proration = events.find(e => e.type === 'invoice.paid' && e.data.object.billing_reason === 'subscription_update').data.object
  const credit = proration.lines.data.find((l: any) => l.amount < 0)
  t.match(credit, { type: 'invoiceitem', proration: true, invoice_item: /^ii_/, price: { id: pro.id }, subscription: subscriptionId })

  // A renewal moves the subscription's own period before basil, its items' at the pin.
  const renewalOld = events.find(e => e.type === 'customer.subscription.updated' && e.data.previous_attributes.current_period_end)
  t.ok(renewalOld, 'acacia: previous_attributes names the subscription period')
  t.equal(renewalOld.data.previous_attributes.current_period_end, created.current_period_end)
  t.notOk('items' in renewalOld.data.previous_attributes, 'the items themselves did not change in acacia')
  const renewalNew = current.received.map(r => r.event).find(e => e.id === renewalOld.id)
  t.ok(renewalNew.data.previous_attributes.items, 'at the pin the items changed')
  t.notOk('current_period_end' in renewalNew.data.previous_attributes)
  t.equal(currentEndpoint.api_version, null)
})

t.test('GET /v1/events answers each event in the version it was created in, never the request\'s Stripe-Version', async t => {
  const env = await startEmulator(t, { accountApiVersion: ACACIA })
  t.same(await env.control('account'), { api_version: ACACIA })
  const { pro } = await seedCatalog(env.stripe)
  const { subscriptionId } = await subscribe(env, pro.id)
  await env.control('account', { api_version: LATEST_VERSION })
  await env.stripe.subscriptions.update(subscriptionId, { metadata: { after: 'upgrade' } })

  const asked = new Stripe('sk_test_emulator', { host: '127.0.0.1', port: env.emulator.port, protocol: 'http', apiVersion: ACACIA as typeof Stripe.API_VERSION })
  const { data } = await asked.events.list({ types: ['customer.subscription.created', 'customer.subscription.updated'] })
  const created = data.find(e => e.type === 'customer.subscription.created')! as any
  const updated = data.find(e => e.type === 'customer.subscription.updated')! as any
  t.equal(created.api_version, ACACIA)
  t.equal(typeof created.data.object.current_period_end, 'number')
  t.equal(updated.api_version, LATEST_VERSION, 'created after the upgrade')
  t.notOk('current_period_end' in updated.data.object)
  const retrieved = await env.stripe.events.retrieve(created.id) as any
  t.equal(retrieved.api_version, ACACIA)
  t.equal(retrieved.data.object.current_period_end, created.data.object.current_period_end)

  // The API itself answers in the pin, whatever the request asks for.
  const res = await fetch(`${env.url}/v1/subscriptions/${subscriptionId}`, { headers: { authorization: 'Bearer sk_test_x', 'stripe-version': ACACIA } })
  t.equal(res.headers.get('stripe-version'), LATEST_VERSION)
  t.notOk('current_period_end' in (await res.json() as any))
})

t.test('versions the emulator cannot render are refused with Stripe\'s 400', async t => {
  const env = await startEmulator(t)
  const create = (v: string) => env.stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/x', enabled_events: ['*'], api_version: v as Stripe.WebhookEndpointCreateParams.ApiVersion })
  for (const v of ['2024-06-20', '2025-03-31.acacia', '2025-13-01.basil', '2099-01-01.zinnia', 'latest']) {
    await t.rejects(create(v), { type: 'StripeInvalidRequestError', statusCode: 400, param: 'api_version', message: new RegExp(`Invalid api_version: ${v.replace('.', '\\.')}.*2024-09-30\\.acacia to ${LATEST_VERSION.replace('.', '\\.')}`) }, v)
  }
  t.equal((await create('2024-12-18.acacia')).api_version, '2024-12-18.acacia')
  t.equal((await create('2025-10-29.clover')).api_version, '2025-10-29.clover')
  await t.rejects(env.control('account', { api_version: '2024-06-20' }), /Invalid api_version/)
  t.throws(() => createEmulator({ accountApiVersion: '2023-10-16' }), /Unsupported account API version 2023-10-16/)
})
