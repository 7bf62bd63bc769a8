import t from 'tap'
import { countUsageOf, usageLines } from '../../../src/billing/use-cases/count-usage.js'
import { readSnapshot } from '../../../src/billing/use-cases/read-entitlements.js'
import { reportOverage } from '../../../src/billing/use-cases/report-overage.js'
import { meterEventName } from '../../../src/billing/plans.js'
import { createCheckout } from '../../../src/billing/use-cases/create-checkout.js'
import { customers, usageMeterReports } from '../../../src/db/schema.js'
import { counterOn, usageKeyPattern } from '../../../src/queue/usage-counter.js'
import { drainUsageLedger } from '../../../src/queue/usage-ledger-drain.js'
import { bootstrapCatalogue } from '../../../src/stripe/bootstrap-catalogue.js'
import { toSubscriptionState } from '../../../src/stripe/subscription-state.js'
import { advanceClock } from '../../emulator/flows.js'
import { deleteKeys, REDIS_URL } from '../../helpers/env.js'
import { lifecycleEnv } from './lifecycle-helpers.js'

const METRIC = 'requests_per_month'

t.test('overage: counted in one period, reported to the meter once despite a crash, billed on the renewal invoice, reset after it', async t => {
  const { em, deps, config, newEvents, apply } = await lifecycleEnv(t, {}, { seed: false })
  t.teardown(() => deleteKeys(REDIS_URL, usageKeyPattern(config.QUEUE_PREFIX).slice(0, -1)))
  const boot = await bootstrapCatalogue(deps.stripe, deps.catalogue)
  t.same(boot.map(a => a.overage.map(o => [o.metric, o.price])), [[], [[METRIC, 'created']], [[METRIC, 'created']]], 'a meter and metered price for each overage plan')
  t.same((await bootstrapCatalogue(deps.stripe, deps.catalogue)).flatMap(a => a.overage.map(o => o.price)), ['unchanged', 'unchanged'], 'bootstrap runs again without changes')
  const meters = (await deps.stripe.billing.meters.list()).data
  t.same(meters.map(m => m.event_name), [meterEventName(METRIC)], 'one meter per metric, shared by the plans')
  const [pro, proOverage] = [boot[1]!.price_id, boot[1]!.overage[0]!.price_id]

  // Checkout through Tollgate, for a customer living on a test clock.
  const clock = await deps.stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.now() / 1000) })
  const customer = await deps.stripe.customers.create({ test_clock: clock.id, email: 'ovo@example.test' })
  await deps.db.insert(customers).values({ userId: 'u_ovo', stripeCustomerId: customer.id, email: 'ovo@example.test' })
  const { session_id: sessionId } = await createCheckout({ ...deps, config }, { plan_id: 'pro', user_id: 'u_ovo' })
  const done = await em.control(`checkout/${sessionId}/complete`, { outcome: 'paid' })
  for (const job of await newEvents()) await apply(job)
  const sub = await deps.stripe.subscriptions.retrieve(done.subscription as string)
  t.same(sub.items.data.map(i => i.price.id), [pro, proOverage], 'checkout put the plan\'s price and its metered overage price on the subscription')
  const reversed = { ...sub, items: { ...sub.items, data: [...sub.items.data].reverse() } }
  t.equal(toSubscriptionState(reversed).priceId, pro, 'the plan is read from the plan item, whatever the order of the items')
  const periodEnd = sub.items.data[0]!.current_period_end

  const usage = { db: deps.db, redis: deps.redis, prefix: config.QUEUE_PREFIX, ttlSeconds: 60, catalogue: deps.catalogue, count: counterOn({ redis: deps.redis, db: deps.db, prefix: config.QUEUE_PREFIX }) }
  t.match(await countUsageOf(usage, 'record', { user_id: 'u_ovo', metric: METRIC, quantity: 250_000 }), { allowed: true, limit: 250_000, resets_at: periodEnd }, 'the plan follows the plan item, not the metered one')
  t.match(await countUsageOf(usage, 'consume', { user_id: 'u_ovo', metric: METRIC, quantity: 25_000 }), { allowed: true, used: 275_000, remaining: 0 }, 'overage plans let consume pass the limit')
  const drain = { redis: deps.redis, db: deps.db, prefix: config.QUEUE_PREFIX }
  while (await drainUsageLedger(drain) > 0);

  // A first run sends its report, and the worker dies before marking it: the next run sends it again.
  const report = { db: deps.db, stripe: deps.stripe, catalogue: deps.catalogue }
  t.equal(await reportOverage(report), 1)
  await deps.db.update(usageMeterReports).set({ status: 'pending', sentAt: null })
  t.equal(await reportOverage(report), 1, 'the same report is sent again')
  t.equal(await reportOverage(report), 0, 'and then nothing is left to send')
  const meter = meters[0]!
  const held = await fetch(`${em.url}/_emulator/meters/${meter.id}/usage?customer=${customer.id}`).then(async r => await r.json() as { value: number })
  t.equal(held.value, 25_000, 'the meter holds the overage once')

  // A report Stripe refuses for good (its time is past Stripe's 35 days) does not hold up the next.
  const now = Math.floor(Date.now() / 1000)
  await deps.db.insert(usageMeterReports).values({
    identifier: 'tollgate_too_old', userId: 'u_old', metric: METRIC, windowStart: now - 90 * 86_400, fromQuantity: 0, toQuantity: 10, stripeCustomerId: customer.id, eventTimestamp: now - 60 * 86_400
  })
  await countUsageOf(usage, 'record', { user_id: 'u_ovo', metric: METRIC, quantity: 5_000 })
  while (await drainUsageLedger(drain) > 0);
  t.equal(await reportOverage(report), 2, 'more overage: the next link of the chain, and the refused one')
  t.same((await deps.db.select().from(usageMeterReports).orderBy(usageMeterReports.userId, usageMeterReports.fromQuantity)).map(r => [r.userId, r.fromQuantity, r.toQuantity, r.status]),
    [['u_old', 0, 10, 'failed'], ['u_ovo', 0, 25_000, 'sent'], ['u_ovo', 25_000, 30_000, 'sent']])
  t.equal(await reportOverage(report), 0, 'a failed report is not tried again')

  await advanceClock(deps.stripe, clock.id, periodEnd + 3600)
  const invoices = (await deps.stripe.invoices.list({ subscription: sub.id })).data
  const renewal = invoices.find(i => i.billing_reason === 'subscription_cycle')!
  const line = renewal.lines.data.find(l => l.pricing?.price_details?.price === proOverage)!
  t.match(line, { quantity: 30_000, amount: 300 }, '30,000 requests over: three blocks of 10,000 at $1, once')

  for (const job of await newEvents()) await apply(job)
  const renewed = await readSnapshot(usage, 'u_ovo')
  t.ok(renewed.current_period_start! >= periodEnd, 'the renewal is applied')
  t.same(await usageLines(usage, 'u_ovo', renewed), { [METRIC]: { used: 0, limit: 250_000, remaining: 250_000, resets_at: renewed.current_period_end } }, 'a new period counts from zero')
})
