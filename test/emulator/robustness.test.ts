import t from 'tap'
import type Stripe from 'stripe'
import { ROUTES } from '../../emulator/index.js'
import type { Spec } from '../../emulator/http/params.js'
import { seedCatalog, startEmulator, subscribe } from './helpers.js'
import { customerWithCard } from './flows.js'

// Every route, every parameter: a wrong type is a 400 naming the parameter, and no input at all makes
// a route answer 500 (or crash the emulator).

function wrongValue (spec: Spec): unknown {
  switch (spec.kind) {
    case 'int': case 'range': case 'number': return 'abc'
    case 'bool': return 'maybe'
    case 'enum': return 'no_such_value'
    case 'array': return 'not-an-array'
    case 'object': case 'map': return 'not-a-hash'
    case 'string': return { nested: 'x' }
    default: return undefined
  }
}

function plausible (spec: Spec): unknown {
  switch (spec.kind) {
    case 'int': case 'range': case 'number': return '1'
    case 'bool': return 'true'
    case 'enum': return spec.values[0]
    case 'array': return [plausible(spec.of)]
    case 'object': return Object.fromEntries(Object.entries(spec.fields).map(([k, v]) => [k, plausible(v)]))
    case 'map': return { k: 'v' }
    case 'either': return plausible(spec.options[0]!)
    default: return 'x'
  }
}

function encode (value: unknown, prefix: string, out: string[]): void {
  if (Array.isArray(value)) value.forEach((v, i) => encode(v, `${prefix}[${i}]`, out))
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) encode(v, `${prefix}[${k}]`, out)
  else if (value !== undefined) out.push(`${encodeURIComponent(prefix)}=${encodeURIComponent(String(value))}`)
}
const form = (body: Record<string, unknown>) => {
  const out: string[] = []
  for (const [k, v] of Object.entries(body)) encode(v, k, out)
  return out.join('&')
}

t.test('no route answers 500, whatever it is sent', async t => {
  const env = await startEmulator(t)
  const { pro } = await seedCatalog(env.stripe)
  const { subscriptionId, session, customerId } = await subscribe(env, pro.id)
  const sub = await env.stripe.subscriptions.retrieve(subscriptionId, { expand: ['latest_invoice.payment_intent'] })
  const invoice = sub.latest_invoice as Stripe.Invoice & { payment_intent: Stripe.PaymentIntent }
  const carded = await customerWithCard(env)
  const si = await env.stripe.setupIntents.create({ customer: carded.id })
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.now() / 1000) })
  const ii = await env.stripe.invoiceItems.create({ customer: carded.id, amount: 100, currency: 'usd' })
  const endpoint = await env.stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/x', enabled_events: ['*'] })
  const coupon = await env.stripe.coupons.create({ percent_off: 10 })
  const promo = await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id } })
  const schedule = await env.stripe.subscriptionSchedules.create({ customer: carded.id, start_date: Math.floor(Date.now() / 1000) + 86_400, phases: [{ items: [{ price: pro.id }] }] })
  const meter = await env.stripe.billing.meters.create({ display_name: 'Requests', event_name: 'requests', default_aggregation: { formula: 'sum' } })
  const [event] = (await env.stripe.events.list({ limit: 1 })).data
  const ids: Record<string, string> = {
    customers: customerId, products: pro.product as string, prices: pro.id, subscriptions: subscriptionId, invoices: invoice.id,
    payment_intents: invoice.payment_intent.id, setup_intents: si.id, charges: invoice.payment_intent.latest_charge as string,
    payment_methods: carded.invoice_settings.default_payment_method as string, test_clocks: clock.id, invoiceitems: ii.id,
    webhook_endpoints: endpoint.id, events: event!.id, sessions: session.id, payment_pages: session.id,
    invoice_payments: 'inpay_missing', coupons: coupon.id, promotion_codes: promo.id, subscription_schedules: schedule.id, meters: meter.id, plans: pro.id
  }
  const pathFor = (path: string) => {
    const parts = path.split('/')
    return parts.map((seg, i) => (seg === ':pm' ? ids.payment_methods : seg.startsWith(':') ? ids[parts[i - 1]!] ?? 'x_missing' : seg)).join('/')
  }
  const call = async (method: string, path: string, body: Record<string, unknown>) => {
    const encoded = form(body)
    const get = method !== 'POST'
    const res = await fetch(`${env.url}${path}${get && encoded ? `?${encoded}` : ''}`, {
      method, headers: { authorization: 'Bearer sk_test_x', 'content-type': 'application/x-www-form-urlencoded' }, ...(!get && { body: encoded })
    })
    return { status: res.status, body: await res.json() as any }
  }
  let calls = 0
  for (const route of ROUTES) {
    if (route.path.includes('test_clocks/:id') && route.method === 'DELETE') continue
    const path = pathFor(route.path)
    for (const [name, spec] of Object.entries(route.params ?? {})) {
      const bad = wrongValue(spec)
      if (bad === undefined) continue
      const answer = await call(route.method, path, { [name]: bad })
      calls++
      if (answer.status === 404) continue // the route's object was consumed by an earlier call
      t.equal(answer.status, 400, `${route.method} ${route.path} ${name}=${JSON.stringify(bad)}: ${JSON.stringify(answer.body.error?.message)}`)
    }
    const answer = await call(route.method, path, Object.fromEntries(Object.entries(route.params ?? {}).map(([k, v]) => [k, plausible(v)])))
    calls++
    t.ok(answer.status < 500, `${route.method} ${route.path} with every parameter: ${answer.status} ${JSON.stringify(answer.body.error?.message ?? '')}`)
  }
  t.ok(calls > 150, `${calls} calls`)
  t.equal((await env.stripe.customers.list({ limit: 1 })).object, 'list', 'the emulator still answers')
})
