import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { countUsageOf, usageLines } from '../../src/billing/use-cases/count-usage.js'
import { createCheckout } from '../../src/billing/use-cases/create-checkout.js'
import { readSnapshot } from '../../src/billing/use-cases/read-entitlements.js'
import { customers, usageMeterReports } from '../../src/db/schema.js'
import { counterOn, usageKeyPattern } from '../../src/queue/usage-counter.js'
import { drainUsageLedger } from '../../src/queue/usage-ledger-drain.js'
import { bootstrapCatalogue } from '../../src/stripe/bootstrap-catalogue.js'
import { lifecycleEnv } from '../billing/use-cases/lifecycle-helpers.js'
import { advanceClock } from '../emulator/flows.js'
import { deleteKeys, REDIS_URL, waitFor } from '../helpers/env.js'
import { spawnWorker } from '../helpers/worker-process.js'
import { kill, report } from './kit.js'

// A worker SIGKILLed after Stripe took a usage overage meter event but before the report was marked
// sent: the next worker sends the report again under the same identifier, Stripe keeps the first, and
// the renewal invoice bills the overage once.

// Opt-in with the rest of the slow part: TOLLGATE_FAULTS=all (npm run test:faults).
if (process.env.TOLLGATE_FAULTS !== 'all') t.plan(0, 'opt-in: TOLLGATE_FAULTS=all (npm run test:faults)')
else t.setTimeout(300_000)

const METRIC = 'requests_per_month'
const INCLUDED = 250_000
const OVERAGE = 30_000

interface MeterHeld { value: number, events: Array<{ identifier: string, value: number }> }

if (process.env.TOLLGATE_FAULTS === 'all') t.test('SIGKILL of the reporting worker after-meter-report: the overage on the meter and the renewal invoice once', async t => {
  const { em, deps, config, newEvents, apply } = await lifecycleEnv(t, {}, { seed: false })
  t.teardown(() => deleteKeys(REDIS_URL, usageKeyPattern(config.QUEUE_PREFIX).slice(0, -1)))
  const pro = (await bootstrapCatalogue(deps.stripe, deps.catalogue)).find(a => a.plan === 'pro')!
  const { meter_id: meterId, price_id: overagePrice } = pro.overage[0]!

  // Checkout through Tollgate, for a customer living on a test clock.
  const clock = await deps.stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.now() / 1000) })
  const customer = await deps.stripe.customers.create({ test_clock: clock.id, email: 'ovk@example.test' })
  await deps.db.insert(customers).values({ userId: 'u_ovk', stripeCustomerId: customer.id, email: 'ovk@example.test' })
  const { session_id: sessionId } = await createCheckout({ ...deps, config }, { plan_id: 'pro', user_id: 'u_ovk' })
  const done = await em.control(`checkout/${sessionId}/complete`, { outcome: 'paid' })
  for (const job of await newEvents()) await apply(job)
  const sub = await deps.stripe.subscriptions.retrieve(done.subscription as string)
  const periodEnd = sub.items.data[0]!.current_period_end

  const usage = { db: deps.db, redis: deps.redis, prefix: config.QUEUE_PREFIX, ttlSeconds: 60, catalogue: deps.catalogue, count: counterOn({ redis: deps.redis, db: deps.db, prefix: config.QUEUE_PREFIX }) }
  t.match(await countUsageOf(usage, 'record', { user_id: 'u_ovk', metric: METRIC, quantity: INCLUDED + OVERAGE }), { allowed: true, limit: INCLUDED })
  while (await drainUsageLedger({ redis: deps.redis, db: deps.db, prefix: config.QUEUE_PREFIX }) > 0);

  const held = async (start = 0): Promise<MeterHeld> =>
    await fetch(`${em.url}/_emulator/meters/${meterId}/usage?customer=${customer.id}&start=${start}`).then(async r => await r.json() as MeterHeld)
  const reports = async () => await deps.db.select().from(usageMeterReports)

  // Worker processes on this test's database, prefix and emulator, reporting every second.
  const faultDir = mkdtempSync(join(tmpdir(), 'tollgate-overage-'))
  t.teardown(() => rmSync(faultDir, { recursive: true, force: true }))
  const workerEnv = {
    DATABASE_URL: config.DATABASE_URL, QUEUE_PREFIX: config.QUEUE_PREFIX, STRIPE_API_BASE: em.url,
    WORKER_QUEUES: 'stripe-events', USAGE_REPORT_EVERY_SECONDS: '1', METRICS_PORT: '0', TOLLGATE_FAULT_DIR: faultDir
  }
  const paused = await spawnWorker(t, { ...workerEnv, TOLLGATE_FAULT_PAUSE: 'after-meter-report' })
  const pauseFile = join(faultDir, 'after-meter-report')
  const pausedAt = await waitFor(() => existsSync(pauseFile) && readFileSync(pauseFile, 'utf8').trim(), 'the worker to stop after Stripe took the meter event', 90_000)
    .catch((err: unknown) => { t.comment(paused.out); throw err })
  const [written] = await reports()
  t.equal(pausedAt, written!.identifier, 'it stopped on the report it wrote')
  t.equal(written!.status, 'pending', 'the report is not marked sent')
  t.same((await held()).events.map(e => [e.identifier, e.value]), [[written!.identifier, OVERAGE]], 'Stripe holds the overage before the kill')
  await kill(paused.child)

  const rescuer = await spawnWorker(t, workerEnv)
  await waitFor(async () => (await reports()).every(r => r.status !== 'pending'), 'no report pending', 90_000)
    .catch((err: unknown) => { t.comment(rescuer.out); throw err })
  const final = await reports()
  t.same(final.map(r => [r.identifier, r.fromQuantity, r.toQuantity, r.status]), [[written!.identifier, 0, OVERAGE, 'sent']], 'the same report, sent again and marked sent')
  const meter = await held()
  t.equal(meter.value, OVERAGE, 'the meter holds the overage once')

  await advanceClock(deps.stripe, clock.id, periodEnd + 3600)
  const renewal = (await deps.stripe.invoices.list({ subscription: sub.id })).data.find(i => i.billing_reason === 'subscription_cycle')
  const lines = renewal?.lines.data.filter(l => l.pricing?.price_details?.price === overagePrice) ?? []
  t.same(lines.map(l => [l.quantity, l.amount]), [[OVERAGE, 300]], '30,000 requests over: three blocks of 10,000 at $1, on one line of the renewal invoice')

  for (const job of await newEvents()) await apply(job)
  const renewed = await readSnapshot(usage, 'u_ovk')
  t.ok(renewed.current_period_start! >= periodEnd, 'the renewal is applied')
  const next = await usageLines(usage, 'u_ovk', renewed)
  t.equal(next[METRIC]?.used, 0, 'Tollgate counts the new period from zero')
  const nextHeld = await held(renewed.current_period_start!)
  t.equal(nextHeld.value, 0, 'the meter holds nothing for the new period')

  // Counted in overages: once on the meter and once on the invoice is right, whatever the identifiers.
  const times = [meter.value / OVERAGE, lines.reduce((n, l) => n + (l.quantity ?? 0), 0) / OVERAGE]
  report(t, {
    scenario: 'usage overage report: worker SIGKILL after-meter-report',
    sent: final.length,
    // Each pause line is a send Stripe took before the kill; each report marked sent afterwards, a resend.
    deliveries: readFileSync(pauseFile, 'utf8').trim().split('\n').length + final.filter(r => r.status === 'sent').length,
    acknowledged: meter.events.length,
    applied: final.filter(r => r.status === 'sent').length,
    lost: times.filter(n => n < 1).length,
    duplicated: times.reduce((n, x) => n + Math.max(0, Math.floor(x) - 1), 0),
    unexpected: final.filter(r => r.status === 'failed').length + times.filter(n => !Number.isInteger(n)).length + (lines.length > 1 ? 1 : 0) + (next[METRIC]?.used === 0 ? 0 : 1) + (nextHeld.value === 0 ? 0 : 1),
    emailsExpected: 0,
    emailsSent: 0,
    notes: `columns count overage reports: sent = written, deliveries = meter event sends (the one Stripe took before the kill, the resend), acknowledged = meter events Stripe counts; lost/duplicated = the overage missing from / beyond once on the meter and on the renewal invoice (${OVERAGE} over, billed ${lines.map(l => l.quantity).join('+') || 'nothing'})`
  })
})
