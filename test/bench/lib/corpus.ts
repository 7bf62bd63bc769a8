import { randomBytes } from 'node:crypto'
import Stripe from 'stripe'
import { loadCatalogue } from '../../../src/billing/plans.js'
import { bootstrapCatalogue } from '../../../src/stripe/bootstrap-catalogue.js'
import { WEBHOOK_SECRET } from '../../helpers/env.js'

export type StripeEvent = { id: string, type: string, created: number, data: { object: Record<string, any> }, [k: string]: unknown }

export interface Seeded {
  /** Every event the emulator emitted while the customers lived their lifecycles. */
  events: StripeEvent[]
  /** Users whose subscriptions exist in the emulator; their events make up the backlog. */
  users: string[]
  /** Users subscribed in the emulator whose events are held back for the end-to-end probes. */
  probes: Array<{ userId: string, events: StripeEvent[] }>
}

const HANDLED = /^(checkout\.session\.completed|customer\.subscription\.(created|updated|deleted)|invoice\.(paid|payment_failed))$/

async function control (base: string, path: string, body: unknown = {}) {
  const res = await fetch(`${base}/_emulator/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const json = await res.json()
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

async function subscribe (stripe: Stripe, base: string, userId: string, planId: string, priceId: string) {
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    line_items: [{ price: priceId, quantity: 1 }],
    customer_email: `${userId}@example.test`,
    client_reference_id: userId,
    metadata: { user_id: userId, plan_id: planId },
    subscription_data: { metadata: { user_id: userId } },
    success_url: 'http://app.example.test/billing/success?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'http://app.example.test/billing/cancel'
  })
  return await control(base, `checkout/${session.id}/complete`, { outcome: 'paid' }) as { subscription: string, customer: string }
}

async function allEvents (stripe: Stripe): Promise<StripeEvent[]> {
  const out: StripeEvent[] = []
  for await (const e of stripe.events.list({ limit: 100 })) out.push(e as unknown as StripeEvent)
  return out
}

async function inBatches<T> (items: T[], size: number, fn: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn))
}

/**
 * Real customers in the emulator, through the SDK and paid hosted checkouts, then lived forward
 * with its clock: every subscription renews (invoice.paid, subscription.updated), a fifth of the
 * customers have failing cards (invoice.payment_failed, past_due, finally deleted), a tenth cancel at
 * period end (deleted), a tenth change plan. The events are the emulator's own, as it would have
 * delivered them.
 */
export async function seedEmulator (base: string, customers: number, probeUsers: number): Promise<Seeded> {
  const url = new URL(base)
  const stripe = new Stripe('sk_test_bench_0123456789', { host: url.hostname, port: Number(url.port), protocol: 'http', maxNetworkRetries: 2 })
  const catalogue = loadCatalogue()
  await bootstrapCatalogue(stripe, catalogue)
  const prices: Record<string, string> = {}
  for (const plan of catalogue.plans) {
    const { data } = await stripe.prices.list({ lookup_keys: [plan.lookup_key] })
    prices[plan.id] = data[0]!.id
  }
  const plans = catalogue.plans.map(p => p.id)
  const run = randomBytes(3).toString('hex')
  const users = Array.from({ length: customers }, (_, i) => `bench_${run}_u${i}`)
  const subs = new Map<string, { subscription: string, customer: string }>()
  await inBatches(users, 16, async (userId) => {
    const i = users.indexOf(userId)
    const plan = plans[i % plans.length]!
    subs.set(userId, await subscribe(stripe, base, userId, plan, prices[plan]!))
  })
  await inBatches(users, 16, async (userId) => {
    const i = users.indexOf(userId)
    const { subscription, customer } = subs.get(userId)!
    if (i % 5 === 1) await control(base, `customers/${customer}/fail-payments`, { fail: true })
    else if (i % 10 === 2) await stripe.subscriptions.update(subscription, { cancel_at_period_end: true })
    else if (i % 10 === 4) {
      const sub = await stripe.subscriptions.retrieve(subscription)
      const other = plans[(i + 1) % plans.length]!
      await stripe.subscriptions.update(subscription, { items: [{ id: sub.items.data[0]!.id, price: prices[other]! }], proration_behavior: 'create_prorations' })
    }
  })
  // Two renewals, and enough days for the failed-payment retries to run out.
  for (const days of [32, 8, 8, 8]) await control(base, 'clock/advance', { seconds: days * 86_400 })
  const events = (await allEvents(stripe)).filter(e => HANDLED.test(e.type))

  // Probe users subscribe last; their events are kept apart and never applied before the probe.
  const probeIds = Array.from({ length: probeUsers }, (_, i) => `bench_${run}_p${i}`)
  const before = new Set(events.map(e => e.id))
  await inBatches(probeIds, 16, async (userId) => {
    const plan = plans[probeIds.indexOf(userId) % plans.length]!
    subs.set(userId, await subscribe(stripe, base, userId, plan, prices[plan]!))
  })
  const fresh = (await allEvents(stripe)).filter(e => !before.has(e.id) && e.type === 'customer.subscription.created')
  const bySub = new Map(fresh.map(e => [e.data.object.id as string, e]))
  const probes = probeIds.map(userId => ({ userId, events: [bySub.get(subs.get(userId)!.subscription)!] })).filter(p => p.events[0])
  return { events, users, probes }
}

/**
 * Event copies with fresh ids: the same object state, a distinct delivery Tollgate must claim and
 * apply. `shift` moves the copy's Stripe time: copy round k of a corpus happens k spans after it.
 */
export function copyEvent (e: StripeEvent, tag: string, shift = 0): StripeEvent {
  return { ...e, id: `evt_${tag}${randomBytes(8).toString('hex')}`, created: e.created + shift }
}

/**
 * N events from the corpus: round k of copies is the corpus again, k times its time span later, so
 * that a subscription's copies read as later chapters of its life (distinct times, ties only where
 * Stripe's own events had them) rather than as many events of the same second.
 */
export function mixedBacklog (events: StripeEvent[], n: number, tag: string): StripeEvent[] {
  const times = events.map(e => e.created)
  const span = Math.max(...times) - Math.min(...times) + 1
  const out: StripeEvent[] = []
  for (let i = 0; i < n; i++) out.push(copyEvent(events[i % events.length]!, tag, Math.floor(i / events.length) * span))
  // Shuffled: many customers' events interleave, as Stripe delivers them.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

export interface SignedRequest { body: Buffer, signature: string }

/** Signs each body as Stripe does (HMAC-SHA256 over `t.body`) with the current time. */
export function sign (events: StripeEvent[], secret = WEBHOOK_SECRET): SignedRequest[] {
  const timestamp = Math.floor(Date.now() / 1000)
  return events.map(e => {
    const body = JSON.stringify(e)
    return { body: Buffer.from(body), signature: Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }) }
  })
}

export function countTypes (events: StripeEvent[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const e of events) out[e.type] = (out[e.type] ?? 0) + 1
  return out
}
