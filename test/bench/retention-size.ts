import postgres from 'postgres'
import { createEmulator } from '../../emulator/index.js'
import { createDb } from '../../src/db/client.js'
import { applyRetention, retentionRules } from '../../src/db/retention.js'
import { toEventJob } from '../../src/stripe/webhook.js'
import { Cleanup, privateDatabase } from './lib/env.js'
import { copyEvent, seedEmulator } from './lib/corpus.js'

/**
 * Table and index sizes of stripe_events and email_outbox before and after the retention policy, per
 * million events. The payloads are the emulator's own events of real customer lifecycles, stored as
 * the api queues them (personal data stripped), copied with fresh ids; one sent email per 20 events.
 *   npx tsx test/bench/retention-size.ts                   # 200,000 events, scaled to a million
 *   RETENTION_EVENTS=1000000 npx tsx test/bench/retention-size.ts
 */
const N = Number(process.env.RETENTION_EVENTS ?? 200_000)
const CHUNK = 2000
const c = new Cleanup()
try {
  const emulator = createEmulator()
  const base = await emulator.listen(0)
  c.teardown(() => emulator.close())
  const { events } = await seedEmulator(base, 40, 0)
  const { url } = await privateDatabase(c)
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  c.teardown(() => sql.end())

  const started = Date.now()
  for (let i = 0; i < N; i += CHUNK) {
    const rows = Array.from({ length: Math.min(CHUNK, N - i) }, (_, k) => {
      const job = toEventJob(copyEvent(events[(i + k) % events.length]! as never, 'ret') as never)
      return { event_id: job.event.id, type: job.event.type, created: job.event.created, outcome: 'applied', user_id: `u_${(i + k) % 50_000}`, payload: job.event }
    })
    await sql`insert into stripe_events (event_id, type, created, received_at, processed_at, outcome, user_id, payload)
      select event_id, type, created, now() - interval '60 days', now() - interval '60 days', outcome, user_id, payload
      from jsonb_to_recordset(${sql.json(rows as never)}) as r(event_id text, type text, created bigint, outcome text, user_id text, payload jsonb)`
    await sql`insert into email_outbox (event_id, template, user_id, "to", data, status, attempts, created_at, sent_at)
      select event_id, 'payment_failed', user_id, user_id || '@example.test', '{"amount_due":2900,"currency":"usd","hosted_invoice_url":"https://invoice.stripe.com/i/acct_1/test_x"}', 'sent', 1, now() - interval '60 days', now() - interval '60 days'
      from jsonb_to_recordset(${sql.json(rows.filter((_, k) => (i + k) % 20 === 0) as never)}) as r(event_id text, user_id text)`
  }
  const loadSeconds = (Date.now() - started) / 1000
  await sql`vacuum analyze stripe_events`
  await sql`vacuum analyze email_outbox`

  const sizes = async () => {
    const rows = await sql`select c.relname as name, pg_relation_size(c.oid) as heap, coalesce(pg_relation_size(c.reltoastrelid), 0) as toast,
      pg_indexes_size(c.oid) as indexes, pg_total_relation_size(c.oid) as total,
      (select count(*) from stripe_events) as events, (select count(*) from email_outbox) as emails
      from pg_class c where c.relname in ('stripe_events', 'email_outbox') order by c.relname desc`
    return rows.map(r => ({ name: r.name as string, heap: Number(r.heap), toast: Number(r.toast), indexes: Number(r.indexes), total: Number(r.total) }))
  }
  const [payload] = await sql`select avg(length(payload::text))::int as text, avg(pg_column_size(payload))::int as stored from stripe_events`
  const before = await sizes()

  const { db, close } = createDb(url, { max: 1 })
  c.teardown(() => close())
  const pruneStarted = Date.now()
  let pruned = 0
  for (;;) {
    const run = await applyRetention(db, retentionRules({ EVENT_PAYLOAD_RETENTION_DAYS: 30, EMAIL_RETENTION_DAYS: 30, PRODUCT_DELIVERY_RETENTION_DAYS: 30, USAGE_LEDGER_COMPACT_HOURS: 0, USAGE_LEDGER_RETENTION_DAYS: 0 }, { oldestWaitingUsage: async () => null }), { budgetMs: 60_000 })
    pruned += Object.values(run.pruned).reduce((s, n) => s + n, 0)
    if (!run.more) break
  }
  const pruneSeconds = (Date.now() - pruneStarted) / 1000
  await sql`vacuum analyze stripe_events`
  await sql`vacuum analyze email_outbox`
  const afterVacuum = await sizes()
  await sql`vacuum full stripe_events`
  await sql`vacuum full email_outbox`
  const compact = await sizes()

  const perMillion = (bytes: number) => `${(bytes / N * 1e6 / 2 ** 20).toFixed(0)} MB`
  console.log(`\n${N.toLocaleString()} events (${(N / 20).toLocaleString()} sent emails) loaded in ${loadSeconds.toFixed(0)} s; payload ${payload!.text} bytes as JSON text, ${payload!.stored} bytes stored (compressed)`)
  console.log(`retention pruned ${pruned.toLocaleString()} rows in ${pruneSeconds.toFixed(1)} s (${(pruneSeconds / N * 1e6 / 60).toFixed(1)} min per million events), batches of 500`)
  console.log('\nper million events | heap | TOAST | indexes | total\n---|---|---|---|---')
  for (const [label, set] of [['before', before], ['after retention + VACUUM (file sizes; the space is reused)', afterVacuum], ['after VACUUM FULL (what the kept rows need)', compact]] as const) {
    for (const r of set) console.log(`${r.name} ${label} | ${perMillion(r.heap)} | ${perMillion(r.toast)} | ${perMillion(r.indexes)} | ${perMillion(r.total)}`)
  }
} finally {
  await c.run()
}
