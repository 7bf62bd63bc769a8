import { applyDepsOf } from '../../../src/queue/apply-ports.js'
import { asc, sql } from 'drizzle-orm'
import { randomBytes } from 'node:crypto'
import Stripe from 'stripe'
import { createApplyStripeEvent } from '../../../src/billing/use-cases/apply-stripe-event.js'
import { createDeps, type Deps } from '../../../src/deps.js'
import { checkoutSessions, customers, emailOutbox, entitlements, stripeEvents, subscriptions } from '../../../src/db/schema.js'
import type { StripeEventJob } from '../../../src/queue/policy.js'
import { toEventJob } from '../../../src/stripe/webhook.js'
import { createTestDatabase, createTestPrefix, testConfig } from '../../helpers/env.js'
import { seedPlans, startStripeEmulator } from '../../helpers/stripe-emulator.js'

type T = { teardown: (fn: () => unknown) => void }

/** Deps on a fresh database and prefix, talking to a fresh emulator whose prices follow the catalogue (unless `seed` is false). */
export async function lifecycleEnv (t: T, env: Record<string, string> = {}, opts: { seed?: boolean } = {}) {
  const em = await startStripeEmulator(t)
  const config = testConfig({ DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: createTestPrefix(t), STRIPE_API_BASE: em.url, ...env })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  const prices = opts.seed === false ? {} : await seedPlans(deps.stripe, deps.catalogue)
  const seen = new Set<string>()
  /** Events Stripe emitted since the last call, oldest first, as the api would queue them. */
  async function newEvents () {
    const all: Stripe.Event[] = []
    for await (const e of deps.stripe.events.list({ limit: 100 })) all.push(e)
    const fresh = all.reverse().filter(e => !seen.has(e.id))
    for (const e of fresh) seen.add(e.id)
    return fresh.map(e => toEventJob(e))
  }
  const applyDeps = applyDepsOf(deps)
  const apply = createApplyStripeEvent(applyDeps)
  /** An object as Stripe's API renders it (plain JSON, as in a webhook; the SDK turns decimals into objects). */
  async function raw (path: string): Promise<Record<string, any>> {
    const res = await fetch(`${em.url}/v1/${path}`, { headers: { authorization: `Bearer ${config.STRIPE_SECRET_KEY}`, 'stripe-version': Stripe.API_VERSION } })
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`)
    return await res.json() as Record<string, any>
  }
  return { em, deps, config, prices, newEvents, apply, applyDeps, raw }
}

/**
 * A webhook event as Stripe would send it now, in the pinned version: `object` as Stripe holds it,
 * `created` one second after the emulator's now (so it is newer than every event before it).
 */
export async function eventNow (em: { control: (path: string) => Promise<any> }, type: string, object: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<StripeEventJob> {
  const { now } = await em.control('clock')
  return toEventJob({
    id: `evt_${randomBytes(8).toString('hex')}`, object: 'event', api_version: Stripe.API_VERSION, created: now + 1, livemode: false, pending_webhooks: 1,
    request: { id: null, idempotency_key: null }, type, data: { object }, ...extra
  } as unknown as Stripe.Event)
}

/** Every row the lifecycle writes, minus bookkeeping times, in a stable order: what must not depend on event order. */
export async function snapshot (deps: Deps) {
  const db = deps.db
  const strip = <R extends Record<string, unknown>>(rows: R[], ...keys: string[]) =>
    rows.map(r => Object.fromEntries(Object.entries(r).filter(([k]) => !keys.includes(k))))
  return {
    customers: strip(await db.select().from(customers).orderBy(asc(customers.userId)), 'createdAt', 'stripeTime'),
    // stripe_time is the guard's own bookkeeping: the Stripe time of whichever event last wrote the row.
    subscriptions: strip(await db.select().from(subscriptions).orderBy(asc(subscriptions.stripeSubscriptionId)), 'updatedAt', 'stripeTime'),
    entitlements: strip(await db.select().from(entitlements).orderBy(asc(entitlements.userId)), 'updatedAt'),
    checkoutSessions: strip(await db.select().from(checkoutSessions).orderBy(asc(checkoutSessions.sessionId)), 'createdAt'),
    emails: strip(await db.select().from(emailOutbox).orderBy(asc(emailOutbox.eventId), asc(emailOutbox.template)), 'id', 'jobKey', 'createdAt'),
    events: strip(await db.select().from(stripeEvents).orderBy(asc(stripeEvents.eventId)), 'receivedAt', 'processedAt')
  }
}

export async function truncateAll (deps: Deps) {
  await deps.db.execute(sql`truncate customers, test_clocks, subscriptions, entitlements, checkout_sessions, email_outbox, stripe_events, trial_claims restart identity`)
}

/** Small seeded generator: a failing permutation can be replayed from the seed in the message. */
export function rng (seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Every event once or, with probability `twice`, twice (redeliveries), shuffled. */
export function permute (jobs: StripeEventJob[], random: () => number, twice: number): StripeEventJob[] {
  const out = jobs.flatMap(j => (random() < twice ? [j, j] : [j]))
  for (let i = out.length - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [out[i], out[k]] = [out[k]!, out[i]!]
  }
  return out
}
