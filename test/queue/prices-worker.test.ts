import t from 'tap'
import { pino } from 'pino'
import { createCheckout } from '../../src/billing/use-cases/create-checkout.js'
import { createPricesProcessor, PRICES_REFRESH_JOB, refreshPricesNow, schedulePricesRefresh } from '../../src/queue/processors/prices.js'
import { waitReady } from '../../src/queue/connections.js'
import { startWorkers } from '../../src/queue/workers.js'
import { priceCacheKey, resolvePrice, writeCachedPrice, type CachedPrice } from '../../src/stripe/price-cache.js'
import { waitFor } from '../helpers/env.js'
import { lifecycleEnv as baseEnv } from '../billing/use-cases/lifecycle-helpers.js'

type T = Parameters<typeof baseEnv>[0]

/** The producer connection fails fast while it is still connecting; a worker process waits for it the same way. */
async function lifecycleEnv (t: T) {
  const env = await baseEnv(t)
  await waitReady(env.deps.redis)
  return env
}

t.test('the prices worker caches every plan, follows a moved lookup key, and the api then reads without Stripe', async t => {
  const { em, deps, config, prices, newEvents, apply } = await lifecycleEnv(t)
  const cached = async (lookupKey: string): Promise<CachedPrice | null> => {
    const raw = await deps.redis.get(priceCacheKey(config.QUEUE_PREFIX, lookupKey))
    return raw ? JSON.parse(raw) : null
  }
  const refresh = createPricesProcessor(deps)

  t.same((await refresh()).unknown, [])
  for (const plan of deps.catalogue.plans) {
    t.same(await cached(plan.lookup_key), { id: prices[plan.id], unit_amount: plan.unit_amount, currency: deps.catalogue.currency, interval: plan.interval }, plan.id)
  }
  t.match(await cached('pro_monthly_requests_per_month_overage'), { unit_amount: 100, interval: 'month' }, 'and the metered overage prices checkout adds')

  // A price rise: a new price takes the lookup key over, as the Stripe docs recommend.
  const pro = deps.catalogue.byId('pro')!
  const old = await deps.stripe.prices.retrieve(prices.pro!)
  const raised = await deps.stripe.prices.create({
    product: old.product as string, currency: old.currency, unit_amount: 3900, recurring: { interval: 'month' }, lookup_key: pro.lookup_key, transfer_lookup_key: true
  })
  await deps.stripe.prices.update(old.id, { active: false })
  const workers = startWorkers(deps, ['prices'], pino({ level: 'silent' }))
  t.teardown(() => workers.close())
  const priceEvents = (await newEvents()).filter(j => j.event.type.startsWith('price.'))
  t.ok(priceEvents.length >= 2, 'Stripe announced the new price and the move')
  for (const job of priceEvents) await apply(job)
  await waitFor(async () => (await cached(pro.lookup_key))?.id === raised.id, 'the worker cached the new price')
  t.same(await cached(pro.lookup_key), { id: raised.id, unit_amount: 3900, currency: 'usd', interval: 'month' })

  // A plan whose price is gone from Stripe is dropped, not kept stale for a day.
  const enterprise = deps.catalogue.byId('enterprise')!
  await deps.stripe.prices.update(prices.enterprise!, { active: false })
  const job = await deps.queues.prices.add(PRICES_REFRESH_JOB, { reason: 'test' })
  const result = await waitFor(async () => (await deps.queues.prices.getJob(job.id!))?.returnvalue, 'refresh job completed')
  t.same(result.unknown, [enterprise.lookup_key])
  t.equal(await cached(enterprise.lookup_key), null)

  // With Stripe unreachable, a read that went to Stripe would fail: the cache answers.
  await em.emulator.close()
  t.same(await resolvePrice({ redis: deps.redis, stripe: deps.stripe, prefix: config.QUEUE_PREFIX }, pro.lookup_key), { id: raised.id, unit_amount: 3900, currency: 'usd', interval: 'month' })
})

t.test('workers keep one prices scheduler, removed when the interval is 0, and refresh once at start', async t => {
  const { deps } = await lifecycleEnv(t)
  const queue = deps.queues.prices
  await schedulePricesRefresh(queue, 600)
  await schedulePricesRefresh(queue, 600)
  await refreshPricesNow(queue)
  const schedulers = await queue.getJobSchedulers()
  t.equal(schedulers.length, 1)
  t.equal(schedulers[0]!.every, 600_000)
  t.ok((await queue.getWaiting()).some(j => j.data.reason === 'start'), 'a refresh at start')
  await schedulePricesRefresh(queue, 0)
  t.equal((await queue.getJobSchedulers()).length, 0)
})

t.test('checkout with a cached price Stripe no longer knows drops the entry and resolves again once', async t => {
  const { em, deps, config, prices } = await lifecycleEnv(t)
  const pro = deps.catalogue.byId('pro')!
  await writeCachedPrice(deps.redis, config.QUEUE_PREFIX, pro.lookup_key, { id: 'price_deleted_since', unit_amount: 2900, currency: 'usd', interval: 'month' })

  const { session_id: sessionId } = await createCheckout(deps, { plan_id: 'pro', user_id: 'u_stale', email: 'stale@example.test' })
  const done = await em.control(`checkout/${sessionId}/complete`, { outcome: 'paid' })
  const sub = await deps.stripe.subscriptions.retrieve(done.subscription)
  t.equal(sub.items.data[0]!.price.id, prices.pro, 'the session charges the live price')
  t.match(JSON.parse((await deps.redis.get(priceCacheKey(config.QUEUE_PREFIX, pro.lookup_key)))!), { id: prices.pro }, 'the cache holds it now')
})
