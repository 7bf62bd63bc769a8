import t from 'tap'
import { pino } from 'pino'
import { and, eq, sql } from 'drizzle-orm'
import { invalidateEntitlementsOf } from '../../src/billing/use-cases/read-entitlements.js'
import { entitlements, subscriptions, usageLedger } from '../../src/db/schema.js'
import { drainUsageLedger, startUsageLedgerDrain, usageLedgerBacklog } from '../../src/queue/usage-ledger-drain.js'
import { buildTestApp } from '../helpers/app.js'
import { API_KEY, testRedis, waitFor } from '../helpers/env.js'
import { RedisProcess } from '../helpers/redis-server.js'

const DAY = 86_400
const METRIC = 'requests_per_month'

t.test('a kill -9 of Redis (AOF on) mid-run: used never falls below the Postgres ledger, and every allowed unit is counted', async t => {
  const redis = await RedisProcess.start()
  t.teardown(() => redis.destroy())
  const { app, deps, config } = await buildTestApp(t, { REDIS_URL: redis.url, RATE_LIMIT_READ_PER_MINUTE: '1000000' })
  const now = Math.floor(Date.now() / 1000)
  const pro = deps.catalogue.byId('pro')!
  await deps.db.insert(subscriptions).values({
    stripeSubscriptionId: 'sub_kill', userId: 'u_kill', stripeCustomerId: 'cus_kill', planId: 'pro', status: 'active', access: true,
    currentPeriodStart: new Date((now - DAY) * 1000), currentPeriodEnd: new Date((now + 29 * DAY) * 1000), stripeTime: now
  })
  await deps.db.insert(entitlements).values({
    userId: 'u_kill', planId: 'pro', stripeSubscriptionId: 'sub_kill', status: 'active', access: true, features: pro.features, limits: pro.limits, currentPeriodEnd: new Date((now + 29 * DAY) * 1000)
  })
  await invalidateEntitlementsOf(deps.redis, config.QUEUE_PREFIX, ['u_kill'])

  // The drain runs as a worker's does, on a connection that waits out the outage.
  const workerRedis = testRedis(redis.url)
  t.teardown(() => workerRedis.disconnect())
  const drainDeps = { redis: workerRedis, db: deps.db, prefix: config.QUEUE_PREFIX }
  const drain = startUsageLedgerDrain(drainDeps, pino({ level: 'silent' }), { idleMs: 20 })
  const ledger = async () => Number((await deps.db.select({ n: sql<string>`coalesce(sum(quantity), 0)` }).from(usageLedger)
    .where(and(eq(usageLedger.userId, 'u_kill'), eq(usageLedger.metric, METRIC))))[0]!.n)
  const used = async () => (await app.inject({ url: '/api/v1/usage/u_kill', headers: { authorization: `Bearer ${API_KEY}` } })).json().usage[METRIC].used as number

  let allowed = 0
  let failed = 0
  let stop = false
  const clients = Promise.all(Array.from({ length: 20 }, async () => {
    while (!stop) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/usage/consume', headers: { authorization: `Bearer ${API_KEY}` }, payload: { user_id: 'u_kill', metric: METRIC } })
      if (res.statusCode === 200 && res.json().allowed) allowed++
      else failed++
    }
  }))
  await waitFor(async () => await ledger() > 500, 'the ledger filling')
  await redis.stop('SIGKILL')
  const atKill = await ledger()
  await redis.start()
  await waitFor(async () => allowed > atKill + 500, 'consumes going on after the restart')
  // Every answer after the restart stands on a counter at least the ledger's.
  for (let i = 0; i < 5; i++) {
    const [inLedger, counted] = [await ledger(), await used()]
    t.ok(counted >= inLedger, `used ${counted} ≥ ledger ${inLedger}`)
  }
  stop = true
  await clients
  await drain.close()
  while (await drainUsageLedger(drainDeps) > 0);
  t.equal(await usageLedgerBacklog(drainDeps), 0)
  const [final, inLedger] = [await used(), await ledger()]
  t.equal(final, inLedger, 'once drained, the ledger holds every unit Redis counted')
  t.ok(final >= allowed, `every allowed answer was counted (${allowed} allowed, ${final} counted, ${failed} refused or failed during the outage)`)
})
