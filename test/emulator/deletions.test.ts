import t from 'tap'
import { seedCatalog, startEmulator, startReceiver, subscribe } from './helpers.js'
import { waitFor } from '../helpers/env.js'

t.test('deleting a customer ends its subscriptions and leaves a deleted stub', async t => {
  const receiver = await startReceiver(t)
  const env = await startEmulator(t)
  await env.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.deleted', 'customer.subscription.deleted'] })
  const { pro } = await seedCatalog(env.stripe)
  const { customerId, subscriptionId } = await subscribe(env, pro.id, 'gone@example.com')

  t.same(await env.stripe.customers.del(customerId), { id: customerId, object: 'customer', deleted: true })
  t.match(await env.stripe.customers.retrieve(customerId), { id: customerId, deleted: true })
  t.equal((await env.stripe.subscriptions.retrieve(subscriptionId)).status, 'canceled')
  t.same((await env.stripe.customers.list({ email: 'gone@example.com' })).data, [])
  await t.rejects(env.stripe.customers.update(customerId, { name: 'x' }), { statusCode: 404, code: 'resource_missing' })
  await t.rejects(env.stripe.customers.del(customerId), { statusCode: 404, code: 'resource_missing' })
  await waitFor(() => receiver.received.length === 2, 'both events')
  const deleted = receiver.received.find(r => r.event.type === 'customer.deleted')!.event
  t.match(deleted.data.object, { id: customerId, email: 'gone@example.com' }, 'the event carries the customer as it was')
  t.ok(receiver.received.some(r => r.event.type === 'customer.subscription.deleted' && r.event.data.object.id === subscriptionId))
})

t.test('a product is deleted only without prices; a portal session emits billing_portal.session.created', async t => {
  const receiver = await startReceiver(t)
  const env = await startEmulator(t)
  await env.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['product.deleted', 'billing_portal.session.created'] })
  const { product } = await seedCatalog(env.stripe)
  await t.rejects(env.stripe.products.del(product.id), { statusCode: 400, message: /has one or more user-created prices/ })
  const bare = await env.stripe.products.create({ name: 'No prices' })
  t.same(await env.stripe.products.del(bare.id), { id: bare.id, object: 'product', deleted: true })
  await t.rejects(env.stripe.products.retrieve(bare.id), { statusCode: 404, code: 'resource_missing' })

  const customer = await env.stripe.customers.create({ email: 'portal@example.com' })
  const portal = await env.stripe.billingPortal.sessions.create({ customer: customer.id })
  await waitFor(() => receiver.received.length === 2, 'both events')
  t.ok(receiver.received.some(r => r.event.type === 'product.deleted' && r.event.data.object.id === bare.id))
  t.ok(receiver.received.some(r => r.event.type === 'billing_portal.session.created' && r.event.data.object.id === portal.id))
})
