import { eq, sql } from 'drizzle-orm'
import type { Job } from 'bullmq'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { productEvent, type EventEntitlement } from '../../src/billing/product-events.js'
import { createDeps, type Deps } from '../../src/deps.js'
import { deliveryHeads, replayDeliveries } from '../../src/db/product-deliveries-repo.js'
import { newSecret, syncConfigEndpoints } from '../../src/db/product-endpoints-repo.js'
import { saveProductEvents } from '../../src/db/product-events-repo.js'
import { productDeliveries, productDeliveryAttempts, productEndpoints, productEvents } from '../../src/db/schema.js'
import type { ProductEventJob } from '../../src/queue/policy.js'
import { createProductEventProcessor, PRODUCT_SWEEP_JOB, withProductSweep } from '../../src/queue/processors/product-events.js'
import { queueHeadsOf } from '../../src/queue/product-event-heads.js'
import { signedHeaders } from '../../src/queue/send-signed.js'
import { startWorkers } from '../../src/queue/workers.js'
import { Webhook } from 'standardwebhooks'
import { createTestDatabase, createTestPrefix, exitAfterTests, testConfig, waitFor } from '../helpers/env.js'
import { startReceiver } from '../helpers/product-receiver.js'

// In-process BullMQ workers: see exitAfterTests.
exitAfterTests(t)

const entitlement: EventEntitlement = { plan_id: 'pro', status: 'active', access: true, access_until: null, features: {}, limits: {}, current_period_end: null, cancel_at_period_end: false }

async function env (t: Test, extra: Record<string, string> = {}) {
  const secret = newSecret()
  const receiver = await startReceiver(t, secret)
  const config = testConfig({ DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: createTestPrefix(t), PRODUCT_WEBHOOK_URL: receiver.url, PRODUCT_WEBHOOK_SECRET: secret, PRODUCT_WEBHOOK_RETRY_BASE_MS: '40', ...extra })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  await syncConfigEndpoints(deps.db, config.PRODUCT_WEBHOOK_URL, config.PRODUCT_WEBHOOK_SECRET)
  const started = startWorkers(deps, ['product-events'], pino({ level: 'silent' }), { concurrency: 4 })
  t.teardown(() => started.close())
  /** What an apply commits for these users, then its after-commit step. */
  const emit = async (userIds: string[], type: 'entitlement.updated' | 'subscription.past_due' = 'entitlement.updated') => {
    const refs = await deps.db.transaction(tx => saveProductEvents(tx, userIds.map(u => productEvent(type, u, entitlement, Math.floor(Date.now() / 1000)))))
    await queueHeadsOf({ db: deps.db, queue: deps.queues.productEvents, config }, [...new Set(userIds)])
    return refs
  }
  return { deps, config, receiver, emit, secret }
}

const seqOf = async (deps: Deps, webhookId: string) => (await deps.db.select({ seq: productEvents.seq }).from(productEvents).where(eq(productEvents.id, webhookId.replace(/^msg_/, ''))))[0]!.seq

t.test('every delivery verifies with standardwebhooks; a user\'s events arrive in order while another user\'s endpoint answers 500 and others flow', async t => {
  const { deps, receiver, emit } = await env(t)
  let refusals = 0
  // u_slow's first events are refused for a while; u_fast's must not wait for them.
  receiver.answerWith(body => (body.data.user_id === 'u_slow' && refusals++ < 4 ? 500 : 204))
  for (let i = 0; i < 5; i++) await emit(['u_slow', 'u_fast'])
  await waitFor(() => receiver.delivered().length === 10, 'all ten events delivered')
  t.same(receiver.rejected, [], 'no delivery failed verification')

  const fast = receiver.delivered().filter(r => r.userId === 'u_fast')
  const slow = receiver.received.filter(r => r.userId === 'u_slow')
  const firstSlowSuccess = receiver.received.findIndex(r => r.userId === 'u_slow' && r.status < 300)
  t.ok(receiver.received.findIndex(r => r.userId === 'u_fast') < firstSlowSuccess, 'u_fast was delivered while u_slow was being retried')
  t.same(await Promise.all(fast.map(r => seqOf(deps, r.webhookId))), [1, 2, 3, 4, 5], 'u_fast in order')
  t.same(await Promise.all(slow.map(r => seqOf(deps, r.webhookId))), [1, 1, 1, 1, 1, 2, 3, 4, 5], 'u_slow: seq 1 retried until accepted, the later ones waited, then in order')
  t.equal(new Set(slow.slice(0, 5).map(r => r.webhookId)).size, 1, 'webhook-id stable across retries')

  // The last attempt's row is written after its answer arrives: wait for it, then count exactly.
  await waitFor(async () => (await deps.db.select().from(productDeliveryAttempts)).length >= 14, 'every attempt logged')
  const attempts = await deps.db.select().from(productDeliveryAttempts).orderBy(productDeliveryAttempts.id)
  t.equal(attempts.length, 14, 'one log row per attempt')
  t.same(attempts.filter(a => !a.ok).map(a => [a.status, a.attempt]), [[500, 1], [500, 2], [500, 3], [500, 4]], 'the refusals, with their status and attempt number')
  t.ok(attempts.every(a => a.latencyMs >= 0 && a.response !== null), 'latency and response excerpt logged')
  t.ok((await deps.db.select().from(productDeliveries)).every(d => d.status === 'delivered' && d.deliveredAt), 'every delivery settled')
  t.same(await deliveryHeads(deps.db), [], 'nothing left pending')
})

t.test('an endpoint that keeps failing is disabled after the configured run; its events wait for it', async t => {
  const { deps, receiver, emit } = await env(t, { PRODUCT_WEBHOOK_MAX_FAILURES: '3' })
  receiver.answerWith(() => 503)
  await emit(['u_1', 'u_1'])
  const [endpoint] = await waitFor(async () => {
    const rows = await deps.db.select().from(productEndpoints)
    return rows[0]!.enabled ? null : rows
  }, 'the endpoint disabled')
  t.match(endpoint, { failureRun: 3, enabled: false })
  t.ok(endpoint!.disabledAt)
  t.equal(receiver.received.length, 3, 'no attempt after the run')
  t.same((await deps.db.select().from(productDeliveries)).map(d => d.status), ['pending', 'pending'], 'its events wait, not lost')
})

t.test('two secrets while rotating: each signs, so a receiver holding either one verifies', async t => {
  const [oldSecret, newer] = [newSecret(), newSecret()]
  const body = JSON.stringify({ type: 'entitlement.updated', timestamp: new Date().toISOString(), data: {} })
  const headers = signedHeaders({ secrets: [newer, oldSecret], webhookId: 'msg_1', body, at: new Date() })
  t.equal(headers['webhook-signature']!.split(' ').length, 2)
  t.same(new Webhook(oldSecret).verify(body, headers), JSON.parse(body), 'the old secret verifies')
  t.same(new Webhook(newer).verify(body, headers), JSON.parse(body), 'the new secret verifies')
  t.throws(() => new Webhook(newSecret()).verify(body, headers), 'a third does not')
})

t.test('an endpoint down for a day: retries back off, then everything goes, each user in order, signed at send time', async t => {
  // The default backoff (15 s doubling); "a day" passes by promoting the delayed retries, as time would.
  const { deps, receiver, emit } = await env(t, { PRODUCT_WEBHOOK_RETRY_BASE_MS: '15000' })
  receiver.answerWith(() => 503)
  const users = ['u_a', 'u_b', 'u_c']
  for (let i = 0; i < 3; i++) await emit(users)
  const promoteAll = async () => { for (const job of await deps.queues.productEvents.getDelayed()) await job.promote().catch(() => {}) }
  const attempts = async () => (await deps.db.select().from(productDeliveryAttempts)).length
  await waitFor(async () => (await attempts()) >= 3, 'each user\'s first event tried')
  for (let round = 2; round <= 8; round++) {
    await waitFor(async () => (await deps.queues.productEvents.getDelayedCount()) === 3, 'the three heads waiting for their retry')
    const job = (await deps.queues.productEvents.getDelayed())[0]!
    t.ok(job.delay >= 15_000 * 2 ** (round - 2) * 0.5, `retry ${round - 1} waits ${job.delay} ms: exponential backoff`)
    await promoteAll()
    await waitFor(async () => (await attempts()) >= 3 * round, `round ${round} tried`)
  }
  t.equal(receiver.received.length, 24, 'only the heads were tried: later events waited')
  // The events are a day old by now: a signature dated when the event was written would be refused.
  await deps.db.execute(sql`update product_events set created_at = created_at - interval '1 day'`)
  receiver.answerWith(() => 204)
  await waitFor(async () => (await deps.queues.productEvents.getDelayedCount()) === 3, 'the heads waiting again')
  await promoteAll()
  await waitFor(() => receiver.delivered().length === 9, 'everything delivered once the endpoint is back')
  for (const user of users) {
    t.same(await Promise.all(receiver.delivered().filter(r => r.userId === user).map(r => seqOf(deps, r.webhookId))), [1, 2, 3], `${user} in order`)
  }
  t.same(receiver.rejected, [], 'each attempt signed afresh: old events verify within the timestamp tolerance')
})

/** A database with one endpoint that nothing listens on, for driving the processor by hand. */
async function processorEnv (t: Test) {
  const config = testConfig({ DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: createTestPrefix(t), PRODUCT_WEBHOOK_URL: 'http://127.0.0.1:9/e', PRODUCT_WEBHOOK_SECRET: newSecret() })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  await syncConfigEndpoints(deps.db, config.PRODUCT_WEBHOOK_URL, config.PRODUCT_WEBHOOK_SECRET)
  return deps
}

t.test('a job for a later event (a replay raced it, a stale job) waits while an earlier one of the user is pending', async t => {
  const deps = await processorEnv(t)
  const refs = await deps.db.transaction(tx => saveProductEvents(tx, [1, 2].map(i => productEvent('entitlement.updated', 'u_1', entitlement, i))))
  const [endpoint] = await deps.db.select().from(productEndpoints)
  const sent: string[] = []
  const deliver = createProductEventProcessor(deps, undefined, async d => { sent.push(d.webhookId); return { ok: true, status: 204, latencyMs: 1, response: '' } })
  const job = (eventId: string) => ({ data: { endpointId: endpoint!.id, eventId }, attemptsMade: 0, opts: { attempts: 15 } }) as unknown as Job<ProductEventJob>
  t.same(await deliver(job(refs[1]!.id)), { outcome: 'waiting' }, 'seq 2 is not sent while seq 1 is pending')
  t.same(sent, [])
  t.match(await deliver(job(refs[0]!.id)), { outcome: 'delivered' })
  t.match(await deliver(job(refs[1]!.id)), { outcome: 'delivered' })
  t.match(await deliver(job(refs[1]!.id)), { outcome: 'delivered' }, 'a second job for a delivered event sends nothing')
  t.same(sent, [`msg_${refs[0]!.id}`, `msg_${refs[1]!.id}`])
})

t.test('a replay made while its event is being sent goes again: the send it raced does not settle it', async t => {
  const deps = await processorEnv(t)
  const [ref] = await deps.db.transaction(tx => saveProductEvents(tx, [productEvent('entitlement.updated', 'u_1', entitlement, 1)]))
  const [endpoint] = await deps.db.select().from(productEndpoints)
  const sent: string[] = []
  let replayWhileSending = true
  const deliver = createProductEventProcessor(deps, undefined, async d => {
    sent.push(d.webhookId)
    if (replayWhileSending) {
      replayWhileSending = false
      await replayDeliveries(deps.db, { eventId: ref!.id })
    }
    return { ok: true, status: 204, latencyMs: 1, response: '' }
  })
  const job = { data: { endpointId: endpoint!.id, eventId: ref!.id }, attemptsMade: 0, opts: { attempts: 15 } } as unknown as Job<ProductEventJob>
  await deliver(job)
  const status = async () => (await deps.db.select({ status: productDeliveries.status }).from(productDeliveries))[0]!.status
  t.equal(await status(), 'pending', 'the replay still waits to be sent')
  t.match(await deliver(job), { outcome: 'delivered' })
  t.equal(await status(), 'delivered')
  t.same(sent, [`msg_${ref!.id}`, `msg_${ref!.id}`], 'sent twice, with the same webhook-id')
})

t.test('the log numbers the endpoint\'s attempts at a delivery, whatever BullMQ counted, and a replay starts again at 1', async t => {
  const deps = await processorEnv(t)
  const [ref] = await deps.db.transaction(tx => saveProductEvents(tx, [productEvent('entitlement.updated', 'u_1', entitlement, 1)]))
  const [endpoint] = await deps.db.select().from(productEndpoints)
  const answers = [500, 204, 503, 204]
  const deliver = createProductEventProcessor(deps, undefined, async () => {
    const status = answers.shift()!
    return { ok: status < 300, status, latencyMs: 1, response: '' }
  })
  // Two job attempts had already failed before they sent (the database was unreachable, say).
  const job = (attemptsMade: number) => ({ data: { endpointId: endpoint!.id, eventId: ref!.id }, attemptsMade, opts: { attempts: 15 } }) as unknown as Job<ProductEventJob>
  await t.rejects(deliver(job(2)), /endpoint answered 500/)
  t.match(await deliver(job(3)), { outcome: 'delivered' })
  await replayDeliveries(deps.db, { eventId: ref!.id })
  await t.rejects(deliver(job(0)), /endpoint answered 503/)
  t.match(await deliver(job(1)), { outcome: 'delivered' })
  const log = await deps.db.select().from(productDeliveryAttempts).orderBy(productDeliveryAttempts.id)
  t.same(log.map(a => [a.status, a.attempt]), [[500, 1], [204, 2], [503, 1], [204, 2]])
})

t.test('an event with a once-key is written once whichever path raises it, and seqs keep no gap', async t => {
  const config = testConfig({ DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: createTestPrefix(t) })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  const batch = () => [
    productEvent('checkout.completed', 'u_1', entitlement, 1, { checkout: { session_id: 'cs_1', plan_id: 'pro' } }, 'checkout:cs_1'),
    productEvent('checkout.completed', 'u_1', entitlement, 1, { checkout: { session_id: 'cs_1', plan_id: 'pro' } }, 'checkout:cs_1'),
    productEvent('entitlement.updated', 'u_1', entitlement, 1),
    productEvent('entitlement.updated', 'u_2', entitlement, 1)
  ]
  t.equal((await deps.db.transaction(tx => saveProductEvents(tx, batch()))).length, 3, 'twice in one batch: once')
  t.equal((await deps.db.transaction(tx => saveProductEvents(tx, batch()))).length, 2, 'again in a later batch: not again')
  const rows = await deps.db.select().from(productEvents).orderBy(productEvents.userId, productEvents.seq)
  t.same(rows.map(r => [r.userId, r.seq, r.type]), [
    ['u_1', 1, 'checkout.completed'], ['u_1', 2, 'entitlement.updated'], ['u_1', 3, 'entitlement.updated'],
    ['u_2', 1, 'entitlement.updated'], ['u_2', 2, 'entitlement.updated']
  ])
})

t.test('the sweep queues the waiting events whose job never made it to Redis', async t => {
  const { deps, receiver } = await env(t)
  // Committed, and the process died before the after-commit step: no job exists.
  await deps.db.transaction(tx => saveProductEvents(tx, ['u_1', 'u_1', 'u_2'].map(u => productEvent('entitlement.updated', u, entitlement, 1))))
  const sweep = withProductSweep(deps, async () => { throw new Error('not a sweep') })
  t.same(await sweep({ name: PRODUCT_SWEEP_JOB } as Job), { queued: 0 }, 'a fresh event is left to its own after-commit step')
  await deps.db.execute(sql`update product_deliveries set created_at = created_at - interval '2 minutes'`)
  t.same(await sweep({ name: PRODUCT_SWEEP_JOB } as Job), { queued: 2 }, 'one head per user')
  await waitFor(() => receiver.delivered().length === 3, 'all three delivered')
  t.same(receiver.delivered().filter(r => r.userId === 'u_1').length, 2)
})
