import { randomUUID } from 'node:crypto'
import postgres from 'postgres'
import t from 'tap'
import { createDeps } from '../../src/deps.js'
import { applyRetention, retentionRules } from '../../src/db/retention.js'
import { appendLedger, ledgerTotal, type LedgerEntry } from '../../src/db/usage-ledger-repo.js'
import { countUsage, counterKey, type UsageCounterDeps, entryOf, ledgerStreamKey, shardOf } from '../../src/queue/usage-counter.js'
import { RETENTION_JOB, withRetention } from '../../src/queue/processors/retention.js'
import { drainUsageLedger, oldestWaitingUsage } from '../../src/queue/usage-ledger-drain.js'
import { createTestDatabase, createTestPrefix, testConfig } from '../helpers/env.js'

type Teardown = Parameters<typeof createTestDatabase>[0]

const HOUR = 3_600_000
const DAY = 24 * HOUR
const METRIC = 'requests_per_month'
const rules = { EVENT_PAYLOAD_RETENTION_DAYS: 0, EMAIL_RETENTION_DAYS: 0, PRODUCT_DELIVERY_RETENTION_DAYS: 0, USAGE_LEDGER_COMPACT_HOURS: 48, USAGE_LEDGER_RETENTION_DAYS: 0 }
const noStreams = { oldestWaitingUsage: async () => null }

async function setup (t: Teardown) {
  const url = await createTestDatabase(t)
  const config = testConfig({ DATABASE_URL: url, QUEUE_PREFIX: createTestPrefix(t) })
  // A worker's connection: the first command waits for it to connect.
  const deps = createDeps(config, { role: 'worker' })
  t.teardown(() => deps.close())
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  t.teardown(() => sql.end())
  const streams = { redis: deps.redis, db: deps.db, prefix: config.QUEUE_PREFIX }
  return { deps, sql, streams, ports: { oldestWaitingUsage: async () => await oldestWaitingUsage(streams) } }
}

const entry = (userId: string, metric: string, windowStart: number, quantity: number, createdAt: Date): LedgerEntry =>
  ({ entryId: randomUUID(), userId, metric, windowStart, quantity, idempotencyKey: null, createdAt })

type Sql = postgres.Sql
const totals = async (sql: Sql) => Object.fromEntries((await sql`select user_id || '/' || metric || '/' || window_start as k, sum(quantity)::int as n
  from usage_ledger group by 1 order by 1`).map(r => [r.k as string, r.n as number]))

/** One consume call through the real Redis script, as the api counts it. */
const consume = (streams: UsageCounterDeps, userId: string, windowStart: number, quantity = 1, mode: 'consume' | 'peek' = 'consume', at = Date.now()) =>
  countUsage(streams, {
    mode, userId, metric: METRIC, windowStart, resetsAt: null, quantity, limit: 1_000_000, hard: false, entryId: randomUUID(), counterTtl: 3600, at
  })

t.test('compaction folds old entries into one row per window, every total exact; recent entries stay as they are', async t => {
  const { deps, sql } = await setup(t)
  const now = Date.now()
  const old: LedgerEntry[] = []
  const recent: LedgerEntry[] = []
  for (let u = 0; u < 20; u++) {
    for (const metric of [METRIC, 'emails_per_month']) {
      for (let w = 0; w < 3; w++) {
        const windowStart = 1_700_000_000 + w * 30 * 86_400
        for (let k = 0; k < 1 + ((u + w) % 6); k++) old.push(entry(`u_${u}`, metric, windowStart, 1 + k * u, new Date(now - 3 * DAY - k * HOUR)))
        if ((u + w) % 3 === 0) recent.push(entry(`u_${u}`, metric, windowStart, 7, new Date(now - HOUR)))
      }
    }
  }
  await appendLedger(deps.db, [...old, ...recent])
  const before = await totals(sql)

  // Batches of 7 split most windows over several statements: each adds to the row the last one wrote.
  const run = await applyRetention(deps.db, retentionRules(rules, noStreams), { batch: 7 })
  t.equal(run.pruned['usage_ledger.folded'], old.length, `all ${old.length} old entries folded`)
  t.same(await totals(sql), before, 'every window\'s total is what it was')
  const folded = await sql`select user_id, metric, window_start, folded_entries::int as n, idempotency_key from usage_ledger where folded_entries is not null`
  t.equal(folded.length, 20 * 2 * 3, 'one folded row per user, metric and window')
  t.equal(folded.reduce((s, r) => s + r.n, 0), old.length, 'the folded rows count every entry they sum')
  t.ok(folded.every(r => r.idempotency_key === null), 'a folded row has no idempotency key')
  const left = await sql`select entry_id from usage_ledger where folded_entries is null`
  t.same(left.map(r => r.entry_id).sort(), recent.map(e => e.entryId).sort(), 'the recent entries are untouched')
  const u3 = old.find(e => e.userId === 'u_3')!
  t.equal(await ledgerTotal(deps.db, 'u_3', u3.metric, u3.windowStart), before[`u_3/${u3.metric}/${u3.windowStart}`], 'ledgerTotal answers the same')

  // Later entries of a folded window, once old, join the same row.
  await sql`update usage_ledger set created_at = created_at - interval '3 days' where folded_entries is null`
  const again = await applyRetention(deps.db, retentionRules(rules, noStreams), { batch: 7 })
  t.equal(again.pruned['usage_ledger.folded'], recent.length, 'the aged entries are folded')
  t.same(await totals(sql), before, 'totals still exact')
  t.equal((await sql`select count(*)::int as n from usage_ledger`)[0]!.n, 20 * 2 * 3, 'still one row per window')
})

t.test('compaction skips an entry another transaction holds instead of waiting for it', async t => {
  const { deps, sql } = await setup(t)
  const at = new Date(Date.now() - 3 * DAY)
  const [held, ...others] = [1, 2, 3].map(q => entry('u_1', METRIC, 1_700_000_000, q, at))
  await appendLedger(deps.db, [held!, ...others])
  let release!: () => void
  const released = new Promise<void>(resolve => { release = resolve })
  let locked!: () => void
  const lockTaken = new Promise<void>(resolve => { locked = resolve })
  const holder = sql.begin(async tx => {
    await tx`select 1 from usage_ledger where entry_id = ${held!.entryId} for update`
    locked()
    await released
  })
  await lockTaken
  const started = Date.now()
  const run = await applyRetention(deps.db, retentionRules(rules, noStreams))
  t.ok(Date.now() - started < 5000, `the run did not wait for the lock (${Date.now() - started} ms)`)
  t.equal(run.pruned['usage_ledger.folded'], 2, 'the held entry is skipped')
  release()
  await holder
  t.equal((await applyRetention(deps.db, retentionRules(rules, noStreams))).pruned['usage_ledger.folded'], 1, 'the next run folds it')
  t.equal(await ledgerTotal(deps.db, 'u_1', METRIC, 1_700_000_000), 6)
})

t.test('an entry still waiting in a stream holds compaction back, so a drain that repeats writes nothing twice', async t => {
  const { deps, sql, streams, ports } = await setup(t)
  const windowStart = Math.floor(Date.now() / 1000) - 86_400
  await appendLedger(deps.db, [1, 2, 3].map(q => entry('u_1', METRIC, windowStart, q, new Date(Date.now() - 5 * DAY))))
  // The first was stamped by the api minutes before Redis appended it (a slow call, or a host clock behind).
  for (let i = 0; i < 5; i++) await consume(streams, 'u_1', windowStart, 10, 'consume', Date.now() - (i === 0 ? 5 * 60_000 : 0))
  // A drain writes the entries, then dies before its XDEL: they are in Postgres and still in the stream.
  const waiting = await deps.redis.xrange(ledgerStreamKey(streams.prefix, shardOf('u_1')), '-', '+')
  await appendLedger(deps.db, waiting.map(([, fields]) => entryOf(fields)))
  t.equal(await ledgerTotal(deps.db, 'u_1', METRIC, windowStart), 56)

  // Three days on, the waiting entries are older than the nominal cutoff.
  const run = await applyRetention(deps.db, retentionRules(rules, ports), { now: Date.now() + 3 * DAY, batch: 2 })
  t.equal(run.pruned['usage_ledger.folded'], 3, 'only the entries older than the oldest waiting one are folded')
  t.equal((await sql`select count(*)::int as n from usage_ledger where folded_entries is null`)[0]!.n, 5, 'the written entries still waiting stay as they are')

  t.equal(await drainUsageLedger(streams), 5, 'the next drain takes the entries again')
  t.equal(await ledgerTotal(deps.db, 'u_1', METRIC, windowStart), 56, 'and writes none of them twice')
  const after = await applyRetention(deps.db, retentionRules(rules, ports), { now: Date.now() + 3 * DAY })
  t.equal(after.pruned['usage_ledger.folded'], 5, 'once the stream is empty they fold too')
  t.equal(await ledgerTotal(deps.db, 'u_1', METRIC, windowStart), 56)
})

t.test('the retention job holds compaction back by the streams of its own prefix', async t => {
  const { deps, streams } = await setup(t)
  const windowStart = Math.floor(Date.now() / 1000) - 5 * 86_400
  const at = Date.now() - 3 * DAY
  // Drains have been down for three days since one wrote this entry and died before its XDEL.
  const waiting = entry('u_1', METRIC, windowStart, 4, new Date(at))
  await appendLedger(deps.db, [waiting, entry('u_1', METRIC, windowStart, 5, new Date(at - DAY))])
  await deps.redis.xadd(ledgerStreamKey(streams.prefix, shardOf('u_1')), `${at}-0`,
    'e', waiting.entryId, 'u', 'u_1', 'm', METRIC, 'w', windowStart, 'q', 4, 'k', '', 't', at, 'x', '', 'n', 9, 'l', 1000, 'r', '')

  const job = withRetention(deps, async () => 'an event job')
  const run = await job({ name: RETENTION_JOB } as never) as { pruned: Record<string, number> }
  t.equal(run.pruned['usage_ledger.folded'], 1, 'only the entry older than the waiting one is folded')
  t.equal(await drainUsageLedger(streams), 1)
  t.equal(await ledgerTotal(deps.db, 'u_1', METRIC, windowStart), 9, 'the repeated drain wrote nothing twice')
})

t.test('a counter Redis lost, rebuilt after compaction, equals the total it had', async t => {
  const { deps, sql, streams, ports } = await setup(t)
  const windowStart = Math.floor(Date.now() / 1000) - 86_400
  for (let i = 0; i < 12; i++) await consume(streams, 'u_1', windowStart, i + 1)
  while (await drainUsageLedger(streams) > 0);
  await sql`update usage_ledger set created_at = created_at - interval '3 days'`
  await consume(streams, 'u_1', windowStart, 100)
  const counted = (await consume(streams, 'u_1', windowStart, 0, 'peek')).used
  t.equal(counted, 178)

  const run = await applyRetention(deps.db, retentionRules(rules, ports), { batch: 5 })
  t.equal(run.pruned['usage_ledger.folded'], 12, 'the drained entries are folded; the waiting one is still in Redis')
  await deps.redis.del(counterKey(streams.prefix, 'u_1', METRIC, windowStart))
  t.equal((await consume(streams, 'u_1', windowStart, 0, 'peek')).used, counted, 'rebuilt from the folded row and the stream')
})

t.test('retention deletes expired windows and their sent reports; current windows, unsent reports and rows not folded stay', async t => {
  const { deps, sql } = await setup(t)
  const now = Date.now()
  const sec = (ms: number) => Math.floor(ms / 1000)
  const old = sec(now - 200 * DAY)
  const recent = sec(now - 10 * DAY)
  const long = sec(now - 600 * DAY)
  const at = new Date(now - 5 * DAY)
  await appendLedger(deps.db, [
    // No entitlement: past windows only.
    entry('u_gone', METRIC, old, 5, at), entry('u_gone', METRIC, old, 6, at), entry('u_gone', METRIC, recent, 7, at),
    // A yearly plan: the window that started 200 days ago is the current one; the one before it is not.
    entry('u_year', METRIC, old, 8, at), entry('u_year', METRIC, long, 9, at),
    // Access without a period: every window may be the current one.
    entry('u_free', METRIC, old, 10, at),
    // An entry of an old window not folded yet keeps the window's reports.
    entry('u_late', METRIC, old, 11, new Date(now - HOUR))
  ])
  await sql`insert into entitlements (user_id, plan_id, status, access, current_period_end) values
    ('u_year', 'pro', 'active', true, ${new Date(now + 165 * DAY)}), ('u_free', 'pro', 'active', true, null)`
  const report = (user: string, windowStart: number, status: string) => sql`insert into usage_meter_reports
    (identifier, user_id, metric, window_start, from_quantity, to_quantity, stripe_customer_id, event_timestamp, status, sent_at)
    values (${`${user}:${windowStart}:${status}`}, ${user}, ${METRIC}, ${windowStart}, ${status.length}, ${status.length + 1}, 'cus_1', ${windowStart}, ${status}, ${status === 'sent' ? new Date(now - 100 * DAY) : null})`
  for (const status of ['sent', 'pending', 'failed']) await report('u_gone', old, status)
  await report('u_gone', recent, 'sent')
  await report('u_year', old, 'sent')
  await report('u_year', long, 'sent')
  await report('u_late', old, 'sent')

  const run = await applyRetention(deps.db, retentionRules({ ...rules, USAGE_LEDGER_RETENTION_DAYS: 100 }, noStreams), { now, batch: 2 })
  t.equal(run.pruned['usage_ledger.folded'], 6, 'the old entries are folded first')
  t.same(await totals(sql), {
    [`u_free/${METRIC}/${old}`]: 10,
    [`u_gone/${METRIC}/${recent}`]: 7,
    [`u_late/${METRIC}/${old}`]: 11,
    [`u_year/${METRIC}/${old}`]: 8
  }, 'the expired windows of u_gone and u_year are gone; the current, recent and not yet folded ones stay')
  t.same((await sql`select identifier from usage_meter_reports order by identifier`).map(r => r.identifier), [
    `u_gone:${old}:failed`, `u_gone:${old}:pending`, `u_gone:${recent}:sent`, `u_late:${old}:sent`, `u_year:${old}:sent`
  ], 'sent reports of deleted windows go; pending, failed and those of kept windows stay')
  const again = await applyRetention(deps.db, retentionRules({ ...rules, USAGE_LEDGER_RETENTION_DAYS: 100 }, noStreams), { now, batch: 2 })
  t.same(again.pruned, { 'usage_ledger.folded': 0, 'usage_ledger.windows': 0 }, 'a second run finds nothing')
})
