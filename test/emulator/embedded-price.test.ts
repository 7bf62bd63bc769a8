import t from 'tap'
import type Stripe from 'stripe'
import { seedCatalog, startEmulator, startReceiver, subscribe, waitFor } from './helpers.js'

t.test('a subscription shows its price as it is now: a transferred lookup key is gone from the old price everywhere', async t => {
  const receiver = await startReceiver(t)
  const env = await startEmulator(t, { webhookUrl: receiver.url, webhookSecrets: ['whsec_test'] })
  const { pro, product } = await seedCatalog(env.stripe)
  const { subscriptionId, session } = await subscribe(env, pro.id)
  t.equal((await env.stripe.subscriptions.retrieve(subscriptionId)).items.data[0]!.price.lookup_key, 'pro_monthly')

  const replacement = await env.stripe.prices.create({
    product: product.id, currency: 'usd', unit_amount: 2500, recurring: { interval: 'month' }, lookup_key: 'pro_monthly', transfer_lookup_key: true, nickname: 'Pro 2'
  })
  await env.stripe.prices.update(pro.id, { nickname: 'Pro (legacy)', metadata: { legacy: 'yes' } })
  t.equal((await env.stripe.prices.retrieve(pro.id)).lookup_key, null)

  const sub = await env.stripe.subscriptions.retrieve(subscriptionId)
  const item = sub.items.data[0]!
  t.equal(item.price.id, pro.id, 'still on the old price')
  t.equal(item.price.lookup_key, null, 'whose lookup key moved to the new price')
  t.equal(item.price.nickname, 'Pro (legacy)')
  t.equal(item.plan.nickname, 'Pro (legacy)', 'the plan follows the price')
  t.same(item.plan.metadata, { legacy: 'yes' })
  const listed = (await env.stripe.subscriptions.list({ price: pro.id })).data[0]!
  t.equal(listed.items.data[0]!.price.lookup_key, null, 'in lists too')
  const expanded = await env.stripe.subscriptions.retrieve(subscriptionId, { expand: ['items.data.price.product'] })
  t.equal(expanded.items.data[0]!.price.lookup_key, null)
  t.equal((expanded.items.data[0]!.price.product as Stripe.Product).name, product.name, 'expansions inside the price survive')

  // An event sent now carries the price as it is now.
  await env.stripe.subscriptions.update(subscriptionId, { metadata: { touched: 'yes' } })
  const updated = await waitFor(() => receiver.received.find(r => r.event.type === 'customer.subscription.updated'))
  t.equal(updated.event.data.object.items.data[0].price.lookup_key, null)
  t.equal(updated.event.data.object.items.data[0].plan.nickname, 'Pro (legacy)')

  const lines = await env.stripe.checkout.sessions.listLineItems(session.id)
  t.match(lines.data[0], { object: 'item', quantity: 1, price: { id: pro.id, lookup_key: null, nickname: 'Pro (legacy)' } }, 'checkout line items too')
  const invoice = await env.stripe.invoices.retrieve(sub.latest_invoice as string, { expand: ['lines.data.pricing.price_details.price'] })
  t.equal((invoice.lines.data[0]!.pricing!.price_details!.price as Stripe.Price).lookup_key, null, 'and an invoice line’s price')
  t.equal((await env.stripe.prices.list({ lookup_keys: ['pro_monthly'] })).data[0]!.id, replacement.id)
})
