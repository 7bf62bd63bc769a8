import t from 'tap'
import Stripe from 'stripe'
import WebSocket from 'ws'
import { seedCatalog, startEmulator, startReceiver, subscribe } from './helpers.js'
import { NO_CLI, stripeCli } from './stripe-cli.js'
import { waitFor } from '../helpers/env.js'

const verifier = new Stripe('sk_test_verifier')
const verified = (r: { body: string, headers: Record<string, unknown> }, secret: string) =>
  verifier.webhooks.constructEvent(r.body, String(r.headers['stripe-signature']), secret)

t.test('stripe listen forwards every event, signed with the secret --print-secret prints; nothing from before it listened', { skip: NO_CLI }, async t => {
  const env = await startEmulator(t)
  const receiver = await startReceiver(t)
  const cli = await stripeCli(t, env.url)
  const printed = await cli.run(['listen', '--print-secret'])
  t.equal(printed.code, 0)
  const secret = printed.out.trim()
  t.match(secret, /^whsec_[0-9a-f]{64}$/)

  const unheard = await env.stripe.products.create({ name: 'before anyone listens' })
  const listener = await cli.listen(['--all-snapshot', '--forward-to', receiver.url])
  t.equal(listener.secret, secret, 'the session secret is the one --print-secret printed')

  const product = await env.stripe.products.create({ name: 'Heard' })
  await env.stripe.products.update(product.id, { metadata: { plan: 'pro' } })
  const customer = await env.stripe.customers.create({ email: 'listen@example.com' })
  await waitFor(() => receiver.received.length >= 3, 'three forwarded events')
  const events = receiver.received.map(r => verified(r, secret))
  t.same(events.map(e => e.type).sort(), ['customer.created', 'product.created', 'product.updated'])
  t.equal((events.find(e => e.type === 'customer.created')!.data.object as Stripe.Customer).id, customer.id)
  t.notOk(events.some(e => (e.data.object as { id: string }).id === unheard.id), 'an event from before the listener is not replayed')
  t.equal(events[0]!.api_version, Stripe.API_VERSION)

  // The CLI prints each event and its endpoint's answer, and reports the answer back.
  await waitFor(() => (listener.output().match(/<--\s+\[200\] POST/g) ?? []).length === 3, 'the CLI to print three 200s')
  t.match(listener.output(), `--> product.updated [${events.find(e => e.type === 'product.updated')!.id}]`)
  const [session] = await waitFor(() => {
    const l = env.emulator.ctx.stripeCli.listeners()
    return l.length === 1 && l[0]!.responses.length === 3 && l
  }, 'the CLI to report three answers')
  t.same(session!.responses.map(r => r.status), [200, 200, 200])
  t.same(new Set(session!.responses.map(r => r.event_id)), new Set(events.map(e => e.id)))

  t.equal(await listener.stop('SIGTERM'), 0, 'the CLI exits cleanly')
  await waitFor(() => env.emulator.ctx.stripeCli.listeners().length === 0, 'the session to end with the CLI', 5000)
  const missed = await env.stripe.products.create({ name: 'while nobody listens' })

  const again = await cli.listen(['--all-snapshot', '--forward-to', receiver.url])
  t.equal(again.secret, secret, 'the same device gets the same secret again')
  const later = await env.stripe.products.create({ name: 'heard again' })
  await waitFor(() => receiver.received.some(r => r.event.data.object.id === later.id), 'the later event')
  t.notOk(receiver.received.some(r => r.event.data.object.id === missed.id), 'an event while nobody listened is not replayed')
  t.equal(await again.stop('SIGINT'), 0)
})

t.test('--events filters in the CLI; a second listener gets the same events; another device has another secret', { skip: NO_CLI }, async t => {
  const env = await startEmulator(t)
  const [a, b] = [await startReceiver(t), await startReceiver(t)]
  const cliA = await stripeCli(t, env.url)
  const cliB = await stripeCli(t, env.url, { deviceName: 'second-laptop' })
  const onlyProducts = await cliA.listen(['--events', 'product.created', '--forward-to', a.url])
  const everything = await cliB.listen(['--all-snapshot', '--forward-to', b.url])
  t.not(onlyProducts.secret, everything.secret)

  await env.stripe.products.create({ name: 'One' })
  await env.stripe.customers.create({ email: 'filtered@example.com' })
  await env.stripe.products.create({ name: 'Two' })
  await waitFor(() => b.received.length === 3 && a.received.length === 2, 'both listeners to forward')
  t.same(b.received.map(r => verified(r, everything.secret).type).sort(), ['customer.created', 'product.created', 'product.created'])
  t.same(a.received.map(r => verified(r, onlyProducts.secret).type), ['product.created', 'product.created'])
  t.equal(env.emulator.ctx.stripeCli.listeners().length, 2)
})

t.test('stripe listen renders events in the account default version, or the latest with --latest', { skip: NO_CLI }, async t => {
  const env = await startEmulator(t, { accountApiVersion: '2025-02-24.acacia' })
  const [old, latest] = [await startReceiver(t), await startReceiver(t)]
  const cli = await stripeCli(t, env.url)
  const byDefault = await cli.listen(['--events', 'customer.subscription.created,invoice.paid', '--forward-to', old.url])
  const withLatest = await cli.listen(['--latest', '--events', 'customer.subscription.created,invoice.paid', '--forward-to', latest.url])
  t.match(byDefault.output(), 'You are using Stripe API Version [2025-02-24.acacia]')
  t.match(withLatest.output(), `You are using Stripe API Version [${Stripe.API_VERSION}]`)

  const { pro } = await seedCatalog(env.stripe)
  const { subscriptionId } = await subscribe(env, pro.id)
  await waitFor(() => old.received.length === 2 && latest.received.length === 2, 'both renderings')
  const oldSub = old.received.map(r => verified(r, byDefault.secret)).find(e => e.type === 'customer.subscription.created')!
  const oldInvoice = old.received.find(r => r.event.type === 'invoice.paid')!.event
  t.equal(oldSub.api_version, '2025-02-24.acacia')
  const acaciaSub = oldSub.data.object as any
  t.equal(typeof acaciaSub.current_period_end, 'number', 'acacia: the period is on the subscription')
  t.notOk('current_period_end' in acaciaSub.items.data[0], 'acacia: not on its items')
  t.equal(oldInvoice.data.object.subscription, subscriptionId)
  t.equal(oldInvoice.data.object.paid, true)
  t.notOk('parent' in oldInvoice.data.object)

  const newSub = latest.received.map(r => verified(r, withLatest.secret)).find(e => e.type === 'customer.subscription.created')!
  t.equal(newSub.api_version, Stripe.API_VERSION)
  t.notOk('current_period_end' in (newSub.data.object as any))
  t.equal(typeof (newSub.data.object as Stripe.Subscription).items.data[0]!.current_period_end, 'number')
  t.equal(newSub.id, oldSub.id, 'one event, two renderings')
})

t.test('events keep flowing while the CLI resets its connection every reconnect_delay', { skip: NO_CLI }, async t => {
  const env = await startEmulator(t, { stripeCliReconnectDelaySeconds: 1 })
  const receiver = await startReceiver(t)
  const cli = await stripeCli(t, env.url)
  await cli.listen(['--all-snapshot', '--forward-to', receiver.url])
  const names: string[] = []
  const until = Date.now() + 3500
  while (Date.now() < until) {
    const name = `P${names.length}`
    names.push(name)
    await env.stripe.products.create({ name })
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  await waitFor(() => receiver.received.length >= names.length, `${names.length} forwarded products`)
  const got = receiver.received.map(r => r.event.data.object.name)
  t.same([...got].sort(), [...names].sort(), 'every event exactly once')
  t.ok(env.emulator.ctx.stripeCli.listeners()[0]!.connections >= 3, 'the CLI reconnected in between')
})

t.test('the emulator\'s side of the protocol: two renderings per event, held across a reset, ended by any other close', async t => {
  const env = await startEmulator(t)
  const res = await fetch(`${env.url}/v1/stripecli/sessions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_cli_0123456789', 'content-type': 'application/x-www-form-urlencoded' },
    body: 'device_name=raw&websocket_features[]=webhooks'
  })
  const session = await res.json() as any
  t.match(session, { websocket_authorized_feature: 'webhooks', default_version: Stripe.API_VERSION, latest_version: Stripe.API_VERSION, websocket_url: `${env.url.replace('http', 'ws')}/stripecli/subscribe` })
  const connect = () => new Promise<{ ws: WebSocket, messages: any[], closed: Promise<void> }>((resolve, reject) => {
    const ws = new WebSocket(session.websocket_url, ['stripecli-devproxy-v1'], { headers: { 'Websocket-Id': session.websocket_id } })
    const messages: any[] = []
    ws.on('message', data => messages.push(JSON.parse(String(data))))
    const closed = new Promise<void>(resolve => ws.once('close', () => resolve()))
    ws.once('open', () => resolve({ ws, messages, closed }))
    ws.once('unexpected-response', (_req, r) => reject(new Error(`refused: ${r.statusCode}`)))
  })
  const named = (c: { messages: any[] }, name: string) => c.messages.filter(m => JSON.parse(m.event_payload).data.object.name === name)

  const first = await connect()
  await env.stripe.products.create({ name: 'live' })
  const live = await waitFor(() => named(first, 'live').length === 2 && named(first, 'live'), 'two renderings')
  t.same(live.map(m => m.endpoint.api_version), [null, Stripe.API_VERSION])
  for (const m of live) {
    t.equal(m.type, 'webhook_event')
    t.equal(verified({ body: m.event_payload, headers: { 'stripe-signature': m.http_headers['Stripe-Signature'] } }, session.secret).type, 'product.created')
  }

  first.ws.close(1000, 'Resetting the connection')
  await first.closed
  await waitFor(() => !env.emulator.ctx.stripeCli.listeners()[0]!.connected, 'the server to see the close')
  await env.stripe.products.create({ name: 'during the reset' })
  const second = await connect()
  await waitFor(() => named(second, 'during the reset').length === 2, 'the held event after the reconnect')

  second.ws.terminate()
  await waitFor(() => env.emulator.ctx.stripeCli.listeners().length === 0, 'a dropped connection to end the session', 5000)
  await t.rejects(connect(), /refused: 400/, 'the id is unknown from then on')
})

t.test('the websocket refuses an unknown session the way the CLI expects; a session needs the webhooks feature', async t => {
  const env = await startEmulator(t)
  const ws = new WebSocket(`${env.url.replace('http', 'ws')}/stripecli/subscribe`, { headers: { 'Websocket-Id': 'wss_unknown' } })
  const refusal = await new Promise<{ status: number, body: string }>(resolve => {
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
  })
  t.equal(refusal.status, 400)
  t.equal(JSON.parse(refusal.body).error.message, 'Unknown WebSocket ID.')

  const res = await fetch(`${env.url}/v1/stripecli/sessions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_cli_0123456789', 'content-type': 'application/x-www-form-urlencoded' },
    body: 'device_name=x&websocket_features[]=v2_events'
  })
  t.equal(res.status, 400)
  t.match((await res.json() as any).error, { type: 'invalid_request_error', param: 'websocket_features', message: /thin events are not emulated/ })
})
