import { Worker } from 'bullmq'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import t from 'tap'
import { createApplyStripeEvent } from '../../src/billing/use-cases/apply-stripe-event.js'
import { replayEvent } from '../../src/billing/use-cases/replay-event.js'
import { createDeps } from '../../src/deps.js'
import { applyRetention, retentionRules } from '../../src/db/retention.js'
import { applyDepsOf } from '../../src/queue/apply-ports.js'
import { RETENTION_JOB, withRetention } from '../../src/queue/processors/retention.js'
import { toEventJob } from '../../src/stripe/webhook.js'
import { createTestDatabase, createTestPrefix, makeEvent, testConfig, waitFor } from '../helpers/env.js'

const DAY = 86_400_000
const noStreams = { oldestWaitingUsage: async () => null }
const usage = { 'usage_ledger.folded': 0, 'usage_ledger.windows': 0 }

t.test('retention prunes old payloads and sent email in batches; claims, failed events and unsent email stay', async t => {
  const url = await createTestDatabase(t)
  const config = testConfig({ DATABASE_URL: url, QUEUE_PREFIX: createTestPrefix(t), EVENT_PAYLOAD_RETENTION_DAYS: '30', EMAIL_RETENTION_DAYS: '7' })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  t.teardown(() => sql.end())
  const apply = createApplyStripeEvent(applyDepsOf(deps))

  // Events of a type Tollgate ignores need no Stripe: applied through the real path, then aged.
  const old = Array.from({ length: 5 }, () => makeEvent('customer.created', { id: 'cus_1', object: 'customer' }))
  const recent = makeEvent('customer.created', { id: 'cus_2', object: 'customer' })
  for (const e of [...old, recent]) await apply(toEventJob(e as never))
  await sql`update stripe_events set received_at = now() - interval '31 days' where event_id = any(${old.map(e => e.id)})`
  const failed = makeEvent('invoice.paid', { id: 'in_1', object: 'invoice' })
  await sql`insert into stripe_events (event_id, type, created, received_at, outcome, error, payload)
    values (${failed.id}, 'invoice.paid', 1, now() - interval '90 days', 'failed', 'boom', ${sql.json(failed as postgres.JSONValue)})`
  const outbox = async (status: string, days: number) => (await sql`insert into email_outbox (event_id, template, "to", data, status, sent_at, created_at)
    values (${`evt_${status}_${days}`}, 'payment_failed', 'a@example.test', '{}', ${status}, ${status === 'sent' ? new Date(Date.now() - days * DAY) : null}, now() - ${`${days} days`}::interval)
    returning id`)[0]!.id as number
  const [sentOld, sentRecent, pendingOld, failedOld] = [await outbox('sent', 8), await outbox('sent', 1), await outbox('pending', 9), await outbox('failed', 9)]

  // Product events: an old delivered delivery and its attempt go; a pending one and the events stay.
  const [oldEvent, waiting] = await sql`insert into product_events (user_id, seq, type, payload) values ('u_1', 1, 'entitlement.updated', '{}'), ('u_1', 2, 'entitlement.updated', '{}') returning id`
  await sql`insert into product_deliveries (endpoint_id, event_id, user_id, seq, status, delivered_at) values
    (1, ${oldEvent!.id}, 'u_1', 1, 'delivered', now() - interval '31 days'), (1, ${waiting!.id}, 'u_1', 2, 'pending', null)`
  await sql`insert into product_delivery_attempts (endpoint_id, event_id, attempt, status, ok, latency_ms, created_at) values
    (1, ${oldEvent!.id}, 1, 204, true, 5, now() - interval '31 days'), (1, ${waiting!.id}, 1, 500, false, 5, now())`

  const run = await applyRetention(deps.db, retentionRules(config, noStreams), { batch: 2 })
  t.same(run, { pruned: { 'stripe_events.payload': 5, 'email_outbox.sent': 1, 'product_deliveries.delivered': 1, ...usage }, more: false }, 'five payloads in batches of two, one sent email, one delivered product event')
  t.same((await sql`select seq from product_deliveries`).map(r => Number(r.seq)), [2], 'the pending delivery stays')
  t.same((await sql`select status from product_delivery_attempts`).map(r => r.status), [500], 'the recent attempt stays')
  t.equal((await sql`select count(*)::int as n from product_events`)[0]!.n, 2, 'the events stay: their seqs number the next ones')
  const rows = await sql`select event_id, payload is null as pruned, outcome from stripe_events order by event_id`
  t.same(rows.filter(r => r.pruned).map(r => r.event_id).sort(), old.map(e => e.id).sort(), 'only the old payloads are gone')
  t.equal(rows.length, 7, 'every claim stays')
  t.same((await sql`select id from email_outbox order by id`).map(r => Number(r.id)), [sentRecent, pendingOld, failedOld], 'the old sent row is deleted; pending and failed stay')
  t.notOk(sentOld === undefined)

  t.same(await apply(toEventJob(old[0] as never)), { outcome: 'duplicate' }, 'a redelivery of a pruned event is still a no-op')
  await t.rejects(replayEvent(deps, old[1]!.id), { statusCode: 409, code: 'payload_pruned' }, 'a replay of a pruned event is refused: it would change nothing')
  t.equal((await replayEvent(deps, failed.id)).via, 'enqueued', 'a failed event, payload kept, replays')
  t.same(await applyRetention(deps.db, retentionRules(config, noStreams), { batch: 2 }), { pruned: { 'stripe_events.payload': 0, 'email_outbox.sent': 0, 'product_deliveries.delivered': 0, ...usage }, more: false }, 'a second run finds nothing')
  t.same((await applyRetention(deps.db, retentionRules({ EVENT_PAYLOAD_RETENTION_DAYS: 0, EMAIL_RETENTION_DAYS: 0, PRODUCT_DELIVERY_RETENTION_DAYS: 0, USAGE_LEDGER_COMPACT_HOURS: 0, USAGE_LEDGER_RETENTION_DAYS: 0 }, noStreams))).pruned, {}, '0 days keeps for ever')
})

t.test('a retention batch skips rows another transaction holds instead of waiting, and the job routes by name', async t => {
  const url = await createTestDatabase(t)
  const config = testConfig({ DATABASE_URL: url, QUEUE_PREFIX: createTestPrefix(t) })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  const sql = postgres(url, { max: 3, onnotice: () => {} })
  t.teardown(() => sql.end())
  const ids = ['evt_a', 'evt_b', 'evt_c']
  for (const id of ids) {
    await sql`insert into stripe_events (event_id, type, created, received_at, outcome, payload) values (${id}, 'customer.created', 1, now() - interval '40 days', 'ignored', '{"x":1}')`
  }
  let release!: () => void
  const held = new Promise<void>(resolve => { release = resolve })
  let locked!: () => void
  const lockTaken = new Promise<void>(resolve => { locked = resolve })
  // An apply transaction (say) holds evt_b's row.
  const holder = sql.begin(async tx => {
    await tx`select 1 from stripe_events where event_id = 'evt_b' for update`
    locked()
    await held
  })
  await lockTaken
  const job = withRetention(deps, async () => 'an event job')
  const started = Date.now()
  const run = await job({ name: RETENTION_JOB } as never)
  t.ok(Date.now() - started < 5000, `the run did not wait for the lock (${Date.now() - started} ms)`)
  t.same(run, { pruned: { 'stripe_events.payload': 2, 'email_outbox.sent': 0, 'product_deliveries.delivered': 0, ...usage }, more: false }, 'the held row is skipped')
  release()
  await holder
  t.same(((await job({ name: RETENTION_JOB } as never)) as { pruned: Record<string, number> }).pruned['stripe_events.payload'], 1, 'the next run prunes it')
  t.equal(await job({ name: 'invoice.paid' } as never), 'an event job', 'other jobs go to the event processor')
})

t.test('a run that ends its budget with rows left queues the next slice, once, and the chain ends when nothing is left', async t => {
  const url = await createTestDatabase(t)
  const config = testConfig({ DATABASE_URL: url, QUEUE_PREFIX: createTestPrefix(t) })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  t.teardown(() => sql.end())
  for (let i = 0; i < 7; i++) {
    await sql`insert into stripe_events (event_id, type, created, received_at, outcome, payload) values (${`evt_more_${i}`}, 'customer.created', 1, now() - interval '40 days', 'ignored', '{"x":1}')`
  }
  const queue = deps.queues.stripeEvents
  const followUps = async () => (await queue.getJobs(['delayed', 'waiting', 'active', 'completed'])).filter(j => j.name === RETENTION_JOB)

  // A budget already spent: the slice ends with everything left.
  const spent = withRetention(deps, async () => 'an event job', undefined, { batch: 2, budgetMs: -1 })
  t.match(await spent({ name: RETENTION_JOB } as never), { more: true })
  t.equal((await followUps()).length, 1, 'the next slice is queued')
  t.match(await spent({ name: RETENTION_JOB } as never), { more: true })
  t.equal((await followUps()).length, 1, 'a run overlapping it queues no second one')

  // A worker takes the follow-up with the normal budget: it prunes the rest and queues nothing more.
  const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null })
  const worker = new Worker(queue.name, withRetention(deps, async () => 'an event job', undefined, { batch: 2 }), { connection, prefix: config.QUEUE_PREFIX })
  t.teardown(async () => { await worker.close(); connection.disconnect() })
  await waitFor(async () => {
    const jobs = await followUps()
    return jobs.length === 1 && await jobs[0]!.isCompleted()
  }, 'the follow-up ran', 15_000)
  t.match((await followUps())[0]!.returnvalue, { pruned: { 'stripe_events.payload': 7 }, more: false }, 'it pruned every old payload')
  t.equal((await sql`select count(*)::int as n from stripe_events where payload is not null`)[0]!.n, 0)
  t.equal((await queue.getDelayedCount()) + (await queue.getWaitingCount()), 0, 'and queued no further slice')
})
