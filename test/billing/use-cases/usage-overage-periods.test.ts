import t, { type Test } from 'tap'
import { fileURLToPath } from 'node:url'
import { countUsageOf } from '../../../src/billing/use-cases/count-usage.js'
import { createCheckout } from '../../../src/billing/use-cases/create-checkout.js'
import { readSnapshot } from '../../../src/billing/use-cases/read-entitlements.js'
import { reportOverage } from '../../../src/billing/use-cases/report-overage.js'
import { customers, usageMeterReports } from '../../../src/db/schema.js'
import { counterOn, usageKeyPattern } from '../../../src/queue/usage-counter.js'
import { drainUsageLedger } from '../../../src/queue/usage-ledger-drain.js'
import { bootstrapCatalogue } from '../../../src/stripe/bootstrap-catalogue.js'
import { createStripe } from '../../../src/stripe/client.js'
import { advanceClock } from '../../emulator/flows.js'
import { deleteKeys, REDIS_URL } from '../../helpers/env.js'
import { lifecycleEnv } from './lifecycle-helpers.js'

const PLANS_FILE = fileURLToPath(new URL('../../fixtures/plans-yearly-overage.json', import.meta.url))
const METRIC = 'requests'
const DAY = 86_400

interface MeterHeld { value: number, events: Array<{ identifier: string, value: number, timestamp: number }> }

/** A customer on a test clock, subscribed to `plan` through Tollgate's checkout, with what the test needs around it. */
async function subscribed (t: Test, planId: string) {
  const env = await lifecycleEnv(t, { PLANS_FILE }, { seed: false })
  const { em, deps, config, newEvents, apply } = env
  t.teardown(() => deleteKeys(REDIS_URL, usageKeyPattern(config.QUEUE_PREFIX).slice(0, -1)))
  const plan = (await bootstrapCatalogue(deps.stripe, deps.catalogue)).find(a => a.plan === planId)!
  const { meter_id: meterId, price_id: overagePrice } = plan.overage[0]!
  const start = Math.floor(Date.now() / 1000)
  const clock = await deps.stripe.testHelpers.testClocks.create({ frozen_time: start })
  const customer = await deps.stripe.customers.create({ test_clock: clock.id, email: 'ovp@example.test' })
  await deps.db.insert(customers).values({ userId: 'u_ovp', stripeCustomerId: customer.id, email: 'ovp@example.test' })
  const { session_id: sessionId } = await createCheckout({ ...deps, config }, { plan_id: planId, user_id: 'u_ovp' })
  const done = await em.control(`checkout/${sessionId}/complete`, { outcome: 'paid' })
  const applyNew = async () => { for (const job of await newEvents()) await apply(job) }
  await applyNew()
  const sub = await deps.stripe.subscriptions.retrieve(done.subscription as string)
  const periodEnd = sub.items.data[0]!.current_period_end
  const usage = { db: deps.db, redis: deps.redis, prefix: config.QUEUE_PREFIX, ttlSeconds: 60, catalogue: deps.catalogue, count: counterOn({ redis: deps.redis, db: deps.db, prefix: config.QUEUE_PREFIX }) }
  const drain = { redis: deps.redis, db: deps.db, prefix: config.QUEUE_PREFIX }
  return {
    deps,
    start,
    periodEnd,
    overagePrice,
    report: { db: deps.db, stripe: deps.stripe, catalogue: deps.catalogue },
    /** Moves the customer's clock and lets Tollgate learn of it (and of a renewal it causes). */
    async advance (to: number) {
      await advanceClock(deps.stripe, clock.id, to)
      await applyNew()
      t.equal((await readSnapshot(usage, 'u_ovp')).test_clock_time, to, 'Tollgate knows the customer\'s time')
    },
    async use (quantity: number) {
      t.match(await countUsageOf(usage, 'record', { user_id: 'u_ovp', metric: METRIC, quantity }), { allowed: true })
      while (await drainUsageLedger(drain) > 0);
    },
    held: async (): Promise<MeterHeld> => await fetch(`${em.url}/_emulator/meters/${meterId}/usage?customer=${customer.id}`).then(async r => await r.json() as MeterHeld),
    reports: async () => (await deps.db.select().from(usageMeterReports)).map(r => [r.fromQuantity, r.toQuantity, r.status, r.eventTimestamp]),
    async renewalLine () {
      const invoices = (await deps.stripe.invoices.list({ subscription: sub.id })).data
      const renewal = invoices.find(i => i.billing_reason === 'subscription_cycle')!
      return renewal.lines.data.find(l => l.pricing?.price_details?.price === overagePrice)
    }
  }
}

t.test('yearly plan: overage used in month 3 is reported at the customer\'s time, held once, and billed on the renewal invoice', async t => {
  const s = await subscribed(t, 'pro_yearly')
  t.ok(s.periodEnd - s.start >= 365 * DAY, 'a yearly period')
  const decided = s.start + 75 * DAY
  await s.advance(decided)
  await s.use(3_000_000 + 40_000)

  // The first send never reaches Stripe: the report stays pending with the time it was decided at.
  const away = createStripe({ secretKey: 'sk_test_away', apiBase: 'http://127.0.0.1:9', maxNetworkRetries: 0, timeoutMs: 1000 })
  await t.rejects(reportOverage({ ...s.report, stripe: away }), 'Stripe cannot be reached')
  t.same(await s.reports(), [[0, 40_000, 'pending', decided]], 'the report is written pending, stamped with the customer\'s time')

  // Days later the same report goes out with the same timestamp: the same event.
  await s.advance(decided + 5 * DAY)
  t.equal(await reportOverage(s.report), 1)
  await s.deps.db.update(usageMeterReports).set({ status: 'pending', sentAt: null })
  t.equal(await reportOverage(s.report), 1, 'a resend after a crash')
  t.equal(await reportOverage(s.report), 0, 'and nothing is left to send')
  t.same(await s.reports(), [[0, 40_000, 'sent', decided]])
  const held = await s.held()
  t.same(held.events.map(e => [e.value, e.timestamp]), [[40_000, decided]], 'the meter holds the overage once, at the time it was decided')

  await s.advance(s.periodEnd + 3600)
  t.match(await s.renewalLine(), { quantity: 40_000, amount: 400 }, '40,000 requests over the year: four blocks of 10,000 at $1')
})

t.test('monthly plan: overage is stamped at the customer\'s time, or at the end of its window when reported after it', async t => {
  const s = await subscribed(t, 'pro')
  const decided = s.start + 20 * DAY
  await s.advance(decided)
  await s.use(250_000 + 20_000)
  t.equal(await reportOverage(s.report), 1)
  t.same(await s.reports(), [[0, 20_000, 'sent', decided]])

  // More usage in the same period, drained and reported only once the period has renewed.
  await s.use(10_000)
  await s.advance(s.periodEnd + 3600)
  t.match(await s.renewalLine(), { quantity: 20_000, amount: 200 }, 'the renewal bills what was reported in time')
  t.equal(await reportOverage(s.report), 1, 'the previous window is still read')
  t.same(await s.reports(), [[0, 20_000, 'sent', decided], [20_000, 30_000, 'sent', s.periodEnd - 1]], 'the late report is stamped at the last second of its window')
  t.same((await s.held()).events.map(e => [e.value, e.timestamp]), [[20_000, decided], [10_000, s.periodEnd - 1]])
})
