import { randomUUID } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { and, eq, sql } from 'drizzle-orm'
import { invalidateEntitlementsOf } from '../../src/billing/use-cases/read-entitlements.js'
import { customers, emailOutbox, entitlements, productEndpoints, productEvents, subscriptions, testClocks, usageLedger } from '../../src/db/schema.js'
import type { Deps } from '../../src/deps.js'
import { appendLedger } from '../../src/db/usage-ledger-repo.js'
import { createAfterCommit } from '../../src/queue/apply-ports.js'
import { productDeliveryJobId } from '../../src/queue/product-event-heads.js'
import { counterKey, entryOf, ledgerStreamKey, shardOf, usageKeyPattern } from '../../src/queue/usage-counter.js'
import { drainUsageLedger, startUsageLedgerDrain, usageLedgerBacklog } from '../../src/queue/usage-ledger-drain.js'
import { buildTestApp } from '../helpers/app.js'
import { API_KEY, deleteKeys, REDIS_URL, waitFor } from '../helpers/env.js'
import { RedisProcess } from '../helpers/redis-server.js'

const DAY = 86_400
const METRIC = 'requests_per_month'

/** A user subscribed to `planId` for the period [start, end), as the worker writes it. */
async function subscribe (deps: Deps, userId: string, planId: string, start: number, end: number) {
  const plan = deps.catalogue.byId(planId)!
  const sub = `sub_${userId}`
  await deps.db.insert(subscriptions).values({
    stripeSubscriptionId: sub, userId, stripeCustomerId: `cus_${userId}`, planId, status: 'active', access: true,
    currentPeriodStart: new Date(start * 1000), currentPeriodEnd: new Date(end * 1000), stripeTime: start
  }).onConflictDoUpdate({ target: subscriptions.stripeSubscriptionId, set: { planId, currentPeriodStart: new Date(start * 1000), currentPeriodEnd: new Date(end * 1000) } })
  await deps.db.insert(entitlements).values({
    userId, planId, stripeSubscriptionId: sub, status: 'active', access: true, features: plan.features, limits: plan.limits, currentPeriodEnd: new Date(end * 1000)
  }).onConflictDoUpdate({ target: entitlements.userId, set: { planId, limits: plan.limits, currentPeriodEnd: new Date(end * 1000) } })
  await invalidateEntitlementsOf(deps.redis, deps.config.QUEUE_PREFIX, [userId])
}

async function drainAll (deps: Deps) {
  const { productEventsWritten } = createAfterCommit(deps)
  while (await drainUsageLedger({ redis: deps.redis, db: deps.db, prefix: deps.config.QUEUE_PREFIX, productEventsWritten }, 500) > 0);
}

async function setup (t: Parameters<typeof buildTestApp>[0]) {
  const built = await buildTestApp(t, { RATE_LIMIT_READ_PER_MINUTE: '1000000' })
  t.teardown(() => deleteKeys(REDIS_URL, usageKeyPattern(built.config.QUEUE_PREFIX).slice(0, -1)))
  const post = (path: 'consume' | 'record', body: Record<string, unknown>) =>
    built.app.inject({ method: 'POST', url: `/api/v1/usage/${path}`, headers: { authorization: `Bearer ${API_KEY}` }, payload: body })
  const get = (url: string) => built.app.inject({ url, headers: { authorization: `Bearer ${API_KEY}` } })
  const ledger = async (userId: string) => Number((await built.deps.db.select({ n: sql<string>`coalesce(sum(quantity), 0)` }).from(usageLedger)
    .where(and(eq(usageLedger.userId, userId), eq(usageLedger.metric, METRIC))))[0]!.n)
  const now = Math.floor(Date.now() / 1000)
  return { ...built, post, get, ledger, now }
}

t.test('50 concurrent clients against a hard limit of 10,000: exactly 10,000 allowed, and the ledger holds them', async t => {
  const { app, deps, post, ledger, now } = await setup(t)
  await subscribe(deps, 'u_hot', 'starter', now - DAY, now + 29 * DAY)
  let allowed = 0
  let refused = 0
  let next = 0
  const total = 10_250
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (next++ < total) {
      const res = await post('consume', { user_id: 'u_hot', metric: METRIC })
      if (res.statusCode !== 200) throw new Error(`consume answered ${res.statusCode}: ${res.body}`)
      if (res.json().allowed) allowed++
      else refused++
    }
  }))
  t.equal(allowed, 10_000, 'exactly the limit is allowed')
  t.equal(refused, 250, 'everything past it is refused')
  const last = (await post('consume', { user_id: 'u_hot', metric: METRIC })).json()
  t.same(last, { allowed: false, metric: METRIC, used: 10_000, limit: 10_000, remaining: 0, resets_at: now + 29 * DAY, reason: 'limit_reached' }, 'a refusal counts nothing')

  t.equal(await usageLedgerBacklog({ redis: deps.redis, prefix: deps.config.QUEUE_PREFIX }), 10_000, 'every allowed unit waits in the ledger stream')
  t.match((await app.inject({ url: '/metrics' })).body, /^tollgate_usage_ledger_backlog 10000$/m, 'as the metrics say')
  await drainAll(deps)
  t.equal(await ledger('u_hot'), 10_000, 'and reaches the Postgres ledger, once')
  t.equal(await usageLedgerBacklog({ redis: deps.redis, prefix: deps.config.QUEUE_PREFIX }), 0)
})

t.test('an idempotency key counts once and answers as the first time; record passes the limit', async t => {
  const { deps, post, now } = await setup(t)
  await subscribe(deps, 'u_idem', 'starter', now - DAY, now + 29 * DAY)
  const first = await post('consume', { user_id: 'u_idem', metric: METRIC, quantity: 9_000, idempotency_key: 'req-1' })
  t.match(first.json(), { allowed: true, used: 9_000, remaining: 1_000 })
  await post('consume', { user_id: 'u_idem', metric: METRIC, quantity: 500 })
  const again = await Promise.all([1, 2, 3].map(() => post('consume', { user_id: 'u_idem', metric: METRIC, quantity: 9_000, idempotency_key: 'req-1' })))
  for (const res of again) t.same(res.json(), first.json(), 'a retry answers as the first time')
  t.match((await post('consume', { user_id: 'u_idem', metric: METRIC, quantity: 600 })).json(), { allowed: false, used: 9_500 }, 'the retries counted nothing')

  const over = await post('record', { user_id: 'u_idem', metric: METRIC, quantity: 700, idempotency_key: 'job-7' })
  t.match(over.json(), { allowed: true, used: 10_200, remaining: 0 }, 'record counts past a hard limit')
  t.same((await post('record', { user_id: 'u_idem', metric: METRIC, quantity: 700, idempotency_key: 'job-7' })).json(), over.json())
  t.match((await post('consume', { user_id: 'u_other', metric: METRIC, idempotency_key: 'req-1' })).json(), { allowed: false, reason: 'no_access' }, 'keys are per user')
})

t.test('counters Redis lost are rebuilt from the ledger and the undrained stream, never reset', async t => {
  const { deps, post, now } = await setup(t)
  await subscribe(deps, 'u_lost', 'starter', now - DAY, now + 29 * DAY)
  await post('consume', { user_id: 'u_lost', metric: METRIC, quantity: 4_000 })
  await drainAll(deps)
  await post('consume', { user_id: 'u_lost', metric: METRIC, quantity: 3_000 })
  // 4,000 in Postgres, 3,000 still in the stream; the counter goes.
  t.equal(await deps.redis.del(counterKey(deps.config.QUEUE_PREFIX, 'u_lost', METRIC, now - DAY)), 1)
  t.match((await post('consume', { user_id: 'u_lost', metric: METRIC, quantity: 2_000 })).json(), { allowed: true, used: 9_000 }, 'rebuilt from both')

  // A drain that died between writing Postgres and deleting from the stream: its entries are in both.
  const stream = ledgerStreamKey(deps.config.QUEUE_PREFIX, shardOf('u_lost'))
  await appendLedger(deps.db, (await deps.redis.xrange(stream, '-', '+')).map(([, fields]) => entryOf(fields)))
  await deps.redis.del(counterKey(deps.config.QUEUE_PREFIX, 'u_lost', METRIC, now - DAY))
  t.match((await post('consume', { user_id: 'u_lost', metric: METRIC, quantity: 1 })).json(), { allowed: true, used: 9_001 }, 'an entry in both is counted once')
  await post('record', { user_id: 'u_lost', metric: METRIC, quantity: 1 })
  await deps.redis.del(counterKey(deps.config.QUEUE_PREFIX, 'u_lost', METRIC, now - DAY))
  t.match((await post('consume', { user_id: 'u_lost', metric: METRIC, quantity: 998 })).json(), { allowed: true, used: 10_000 })

  await drainAll(deps)
  await deps.redis.del(counterKey(deps.config.QUEUE_PREFIX, 'u_lost', METRIC, now - DAY))
  t.match((await post('consume', { user_id: 'u_lost', metric: METRIC, quantity: 1 })).json(), { allowed: false, used: 10_000 }, 'rebuilt from Postgres alone, and the hard limit holds')
  await deps.redis.del(counterKey(deps.config.QUEUE_PREFIX, 'u_lost', METRIC, now - DAY))
  const answers = await Promise.all(Array.from({ length: 20 }, () => post('record', { user_id: 'u_lost', metric: METRIC, quantity: 100 })))
  t.same(answers.map(r => r.json().used).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => 10_100 + 100 * i), 'concurrent rebuilds seed once')
})

t.test('a drain pass writes the batches of every shard in one transaction', async t => {
  const { deps, post, ledger, now } = await setup(t)
  const users = ['u_a', 'u_b', 'u_c', 'u_d']
  t.equal(new Set(users.map(shardOf)).size, users.length, 'users on as many shards')
  for (const u of users) {
    await subscribe(deps, u, 'starter', now - DAY, now + 29 * DAY)
    await post('consume', { user_id: u, metric: METRIC, quantity: 3 })
    await post('consume', { user_id: u, metric: METRIC, quantity: 4 })
  }
  t.equal(await drainUsageLedger({ redis: deps.redis, db: deps.db, prefix: deps.config.QUEUE_PREFIX }), 8)
  const commits = await deps.db.execute<{ n: string }>(sql`select count(distinct xmin::text) as n from usage_ledger where user_id in ('u_a', 'u_b', 'u_c', 'u_d')`)
  t.equal(Number([...commits][0]!.n), 1, 'one commit holds every shard\'s entries')
  for (const u of users) t.equal(await ledger(u), 7)
})

t.test('the drain loop goes again at once while a shard has more than a batch waiting, and otherwise rests', async t => {
  const { deps, ledger, now } = await setup(t)
  const prefix = deps.config.QUEUE_PREFIX
  const stream = ledgerStreamKey(prefix, shardOf('u_loop'))
  const entry = (i: number) => ['e', randomUUID(), 'u', 'u_loop', 'm', METRIC, 'w', String(now - DAY), 'q', '1', 't', String(Date.now() + i)]
  const passes: Array<{ at: number, moved: number, full: boolean }> = []
  const onPass = (pass: { moved: number, full: boolean }) => { passes.push({ at: Date.now(), ...pass }) }
  const backlog = () => usageLedgerBacklog({ redis: deps.redis, prefix })

  const add = deps.redis.pipeline()
  for (let i = 0; i < 2_500; i++) add.xadd(stream, '*', ...entry(i))
  await add.exec()
  const resting = startUsageLedgerDrain({ redis: deps.redis, db: deps.db, prefix }, pino({ level: 'silent' }), { idleMs: 60_000, onPass })
  await waitFor(async () => await backlog() === 0, 'three batches, one after the other, long before a rest of a minute ends')
  await resting.close()
  t.equal(await ledger('u_loop'), 2_500)
  t.same(passes.map(p => [p.moved, p.full]), [[1_000, true], [1_000, true], [500, false]], 'full, full, then a rest')

  passes.length = 0
  await deps.redis.xadd(stream, '*', ...entry(0))
  const idleMs = 400
  const loop = startUsageLedgerDrain({ redis: deps.redis, db: deps.db, prefix }, pino({ level: 'silent' }), { idleMs, onPass })
  t.teardown(() => loop.close())
  await waitFor(() => passes.length >= 2, 'a second pass')
  t.same(passes.slice(0, 2).map(p => p.moved), [1, 0])
  t.ok(passes[1]!.at - passes[0]!.at >= idleMs - 50, `a pass that moved less than a batch is followed by a rest (${passes[1]!.at - passes[0]!.at} ms)`)
  t.equal(await ledger('u_loop'), 2_501)
})

t.test('a consume of a cached user: the limiter\'s count and the cache read reach Redis together, then the counting script', async t => {
  const redis = await RedisProcess.start()
  t.teardown(() => redis.destroy())
  const { app, deps } = await buildTestApp(t, { REDIS_URL: redis.url, RATE_LIMIT_READ_PER_MINUTE: '1000' })
  const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  const readsProcessed = async () => Number(/total_reads_processed:(\d+)/.exec(await admin.info('stats'))![1])
  const now = Math.floor(Date.now() / 1000)
  await subscribe(deps, 'u_trips', 'starter', now - DAY, now + 29 * DAY)
  const consume = () => app.inject({ method: 'POST', url: '/api/v1/usage/consume', headers: { authorization: `Bearer ${API_KEY}` }, payload: { user_id: 'u_trips', metric: METRIC } })

  // The first call caches the entitlement and seeds the counter.
  for (let i = 0; i < 2; i++) t.equal((await consume()).statusCode, 200)
  const before = await readsProcessed()
  t.match((await consume()).json(), { allowed: true, used: 3 })
  // INFO's own read counts once.
  t.equal(await readsProcessed() - before - 1, 2, 'two round trips')

  const entries = await deps.redis.xrange(ledgerStreamKey(deps.config.QUEUE_PREFIX, shardOf('u_trips')), '-', '+')
  t.same(entries.map(([, fields]) => fields.filter((_, i) => i % 2 === 0)), [0, 1, 2].map(() => ['e', 'u', 'm', 'w', 'q', 't']),
    'a call without an idempotency key that crosses nothing puts only what it has in the stream')
})

t.test('windows follow the billing period in the customer\'s clock; a plan change keeps what was used', async t => {
  const { deps, post, get, now } = await setup(t)
  const start = now - 10 * DAY
  const end = now + 20 * DAY
  await subscribe(deps, 'u_win', 'starter', start, end)
  t.match((await post('consume', { user_id: 'u_win', metric: METRIC, quantity: 8_000 })).json(), { used: 8_000, limit: 10_000, resets_at: end })

  // Upgrade mid-period: same window, the new limit at once.
  await subscribe(deps, 'u_win', 'pro', start, end)
  t.match((await post('consume', { user_id: 'u_win', metric: METRIC, quantity: 5_000 })).json(), { allowed: true, used: 13_000, limit: 250_000, remaining: 237_000 })
  t.same((await get('/api/v1/usage/u_win')).json(), { user_id: 'u_win', usage: { [METRIC]: { used: 13_000, limit: 250_000, remaining: 237_000, resets_at: end } } })
  t.match((await get('/api/v1/entitlements/u_win')).json(), { access: true, plan_id: 'pro', usage: { [METRIC]: { used: 13_000, resets_at: end } } })

  // The customer lives on a test clock that reaches the period end before the renewal is told:
  // usage counts into the next period, whose end is not known yet.
  await deps.db.insert(testClocks).values({ id: 'clock_win', frozenTime: end + 60 })
  await deps.db.insert(customers).values({ userId: 'u_win', stripeCustomerId: 'cus_u_win', testClockId: 'clock_win' })
  await invalidateEntitlementsOf(deps.redis, deps.config.QUEUE_PREFIX, ['u_win'])
  t.match((await post('consume', { user_id: 'u_win', metric: METRIC })).json(), { allowed: true, used: 1, resets_at: null }, 'a new window at the period end in the customer\'s clock')
  // The renewal arrives: the period that began at the old end is the one already counted into.
  await subscribe(deps, 'u_win', 'pro', end, end + 30 * DAY)
  t.match((await post('consume', { user_id: 'u_win', metric: METRIC })).json(), { used: 2, resets_at: end + 30 * DAY })
})

t.test('refusals: unknown metrics, bad quantities, users without access', async t => {
  const { app, deps, post, get, now } = await setup(t)
  await subscribe(deps, 'u_bad', 'starter', now - DAY, now + 29 * DAY)
  const unknown = await post('consume', { user_id: 'u_bad', metric: 'seats_per_hour' })
  t.equal(unknown.statusCode, 400)
  t.match(unknown.json(), { error: 'unknown_metric', message: /metered: requests_per_month/ })
  for (const quantity of [0, -1, 1.5, 10_000_001, '12abc']) {
    t.equal((await post('consume', { user_id: 'u_bad', metric: METRIC, quantity })).statusCode, 400, `quantity ${quantity} refused`)
    t.equal((await post('record', { user_id: 'u_bad', metric: METRIC, quantity })).statusCode, 400, `recorded quantity ${quantity} refused`)
  }
  t.equal((await post('record', { user_id: 'u_bad', metric: METRIC })).statusCode, 400, 'record names its quantity')
  t.equal((await post('consume', { user_id: 'u_bad', metric: METRIC, idempotency_key: 'x'.repeat(256) })).statusCode, 400, 'a huge idempotency key')
  t.equal((await post('consume', { user_id: 'u_bad', metric: METRIC, price: 0 })).statusCode, 400, 'unknown fields')
  t.same((await post('consume', { user_id: 'u_nobody', metric: METRIC })).json(), {
    allowed: false, metric: METRIC, used: 0, limit: null, remaining: null, resets_at: null, reason: 'no_access'
  })
  t.same((await get('/api/v1/usage/u_nobody')).json(), { user_id: 'u_nobody', usage: {} })
  const anonymous = await deps.redis.exists(counterKey(deps.config.QUEUE_PREFIX, 'u_nobody', METRIC, 0))
  t.equal(anonymous, 0, 'nothing counted for them')
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/usage/consume', payload: { user_id: 'u_bad', metric: METRIC } })).statusCode, 401, 'the API key is required')
})

t.test('80 % and 100 % of the included amount: one email each per period, written with the ledger', async t => {
  const { deps, post, now } = await setup(t)
  const start = now - DAY
  await subscribe(deps, 'u_mail', 'pro', start, now + 29 * DAY)
  await deps.db.insert(customers).values({ userId: 'u_mail', stripeCustomerId: 'cus_u_mail', email: 'mail@example.test' })
  const outbox = async () => (await deps.db.select().from(emailOutbox).orderBy(emailOutbox.eventId)).map(r => ({ eventId: r.eventId, template: r.template, to: r.to, data: r.data }))
  const stream = ledgerStreamKey(deps.config.QUEUE_PREFIX, shardOf('u_mail'))

  await post('record', { user_id: 'u_mail', metric: METRIC, quantity: 199_999 })
  await drainAll(deps)
  t.same(await outbox(), [], 'below 80 %: nothing')
  await post('consume', { user_id: 'u_mail', metric: METRIC })
  const [[, crossing]] = await deps.redis.xrange(stream, '-', '+') as Array<[string, string[]]>
  await drainAll(deps)
  // A drain that died after its commit left its entries in the stream: the next one writes nothing twice.
  await deps.redis.xadd(stream, '*', ...crossing!)
  await drainAll(deps)
  const eighty = { eventId: `usage:u_mail:${METRIC}:${start}:80`, template: 'usage_threshold', to: 'mail@example.test', data: { metric: METRIC, percent: 80, limit: 250_000, resets_at: now + 29 * DAY } }
  t.same(await outbox(), [eighty], 'the call that reached 80 % wrote one email')
  await post('consume', { user_id: 'u_mail', metric: METRIC, quantity: 60_000 })
  await post('consume', { user_id: 'u_mail', metric: METRIC })
  await drainAll(deps)
  t.same(await outbox(), [{ ...eighty, eventId: `usage:u_mail:${METRIC}:${start}:100`, data: { ...eighty.data, percent: 100 } }, eighty], 'and 100 % one more, once')

  await subscribe(deps, 'u_mail', 'starter', start, now + 29 * DAY)
  await post('record', { user_id: 'u_mail', metric: METRIC, quantity: 5 })
  await drainAll(deps)
  t.equal((await outbox()).length, 2, 'a lower limit already passed crosses nothing again')
})

t.test('80 % and 100 %: one usage.threshold_reached each per period, written with the ledger, queued after commit', async t => {
  const { deps, post, now } = await setup(t)
  const start = now - DAY
  const end = now + 29 * DAY
  await subscribe(deps, 'u_evt', 'pro', start, end)
  const [endpoint] = await deps.db.insert(productEndpoints).values({ url: 'http://127.0.0.1:9/events', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], source: 'admin' }).returning()
  const events = async () => await deps.db.select().from(productEvents).where(eq(productEvents.userId, 'u_evt')).orderBy(productEvents.seq)
  const stream = ledgerStreamKey(deps.config.QUEUE_PREFIX, shardOf('u_evt'))

  await post('record', { user_id: 'u_evt', metric: METRIC, quantity: 199_990 })
  await post('consume', { user_id: 'u_evt', metric: METRIC, quantity: 20 })
  const [, [, crossing]] = await deps.redis.xrange(stream, '-', '+') as Array<[string, string[]]>
  await drainAll(deps)
  // A drain that died after its commit left its entries in the stream: the next one writes nothing twice.
  await deps.redis.xadd(stream, '*', ...crossing!)
  await deps.queues.productEvents.obliterate({ force: true })
  await drainAll(deps)
  const [eighty, ...rest] = await events()
  t.same(rest, [], 'one event, though the crossing was drained twice; and no email address was needed')
  t.same(eighty!.payload.data, {
    user_id: 'u_evt',
    entitlement: { plan_id: 'pro', status: 'active', access: true, access_until: null, features: deps.catalogue.byId('pro')!.features, limits: deps.catalogue.byId('pro')!.limits, current_period_end: end, cancel_at_period_end: false },
    metric: METRIC,
    threshold: 80,
    used: 200_010,
    limit: 250_000,
    resets_at: end
  })
  t.equal(eighty!.type, 'usage.threshold_reached')
  t.ok(await deps.queues.productEvents.getJob(productDeliveryJobId({ endpointId: endpoint!.id, eventId: eighty!.id })), 'the repeated drain queues its delivery again')

  await post('record', { user_id: 'u_evt', metric: METRIC, quantity: 60_000 })
  await post('record', { user_id: 'u_evt', metric: METRIC })
  await drainAll(deps)
  t.match((await events()).map(e => e.payload.data), [{ threshold: 80 }, { threshold: 100, used: 260_010 }], 'and 100 % once more')
})

t.test('usage calls sit under the per-key read limit, never the per-user limit of Stripe routes, and are in the OpenAPI document', async t => {
  const built = await buildTestApp(t, { RATE_LIMIT_USER_PER_MINUTE: '1', RATE_LIMIT_READ_PER_MINUTE: '6' })
  t.teardown(() => deleteKeys(REDIS_URL, usageKeyPattern(built.config.QUEUE_PREFIX).slice(0, -1)))
  const now = Math.floor(Date.now() / 1000)
  await subscribe(built.deps, 'u_rate', 'starter', now - DAY, now + 29 * DAY)
  const consume = () => built.app.inject({ method: 'POST', url: '/api/v1/usage/consume', headers: { authorization: `Bearer ${API_KEY}` }, payload: { user_id: 'u_rate', metric: METRIC } })
  const answers = []
  for (let i = 0; i < 7; i++) answers.push(await consume())
  t.same(answers.map(r => r.statusCode), [200, 200, 200, 200, 200, 200, 429], 'one user may call six times a minute at a read limit of 6, past a user limit of 1')
  t.ok(Number(answers[6]!.headers['retry-after']) >= 1, 'with Retry-After')
  t.match(answers[5]!.json(), { used: 6 }, 'a refused call counted nothing')

  const doc = (await built.app.inject({ url: '/docs/json' })).json()
  for (const path of ['/api/v1/usage/consume', '/api/v1/usage/record', '/api/v1/usage/{user_id}']) t.ok(doc.paths[path], `${path} documented`)
  t.ok(doc.paths['/api/v1/usage/consume'].post.responses['200'].content['application/json'].schema.properties.resets_at, 'with its answer')
})
