import postgres from 'postgres'
import { createDb } from '../../src/db/client.js'
import { compactLedger } from '../../src/db/usage-ledger-compaction.js'
import { Cleanup, privateDatabase } from './lib/env.js'

/**
 * Rows and sizes of usage_ledger before and after compaction, and how long one batch takes. Entries
 * of 2,000 users in two monthly windows, counted three days ago (nine in ten) or in the last hour
 * (the rest, which compaction leaves alone); half carry an idempotency key, as retried calls do.
 *   npx tsx test/bench/usage-ledger-size.ts                    # 200,000 entries
 *   LEDGER_ENTRIES=1000000 LEDGER_BATCH=2000 npx tsx test/bench/usage-ledger-size.ts
 */
const N = Number(process.env.LEDGER_ENTRIES ?? 200_000)
const BATCH = Number(process.env.LEDGER_BATCH ?? 500)
const USERS = 2000
const c = new Cleanup()
try {
  const { url } = await privateDatabase(c)
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  c.teardown(() => sql.end())

  const loadStarted = Date.now()
  await sql`insert into usage_ledger (entry_id, user_id, metric, window_start, quantity, idempotency_key, created_at)
    select gen_random_uuid(), 'u_' || (i % ${USERS}), 'requests_per_month', 1764547200 - (i / ${USERS} % 2) * 2592000, 1 + i % 3,
      case when i % 2 = 0 then 'req_' || md5(i::text) end,
      case when random() < 0.1 then now() - interval '1 hour' * random() else now() - interval '3 days' - interval '1 day' * random() end
    from generate_series(1, ${N}) as i`
  const loadSeconds = (Date.now() - loadStarted) / 1000
  await sql`vacuum analyze usage_ledger`

  const sizes = async () => {
    const [r] = await sql`select pg_relation_size('usage_ledger') as heap, pg_indexes_size('usage_ledger') as indexes,
      pg_total_relation_size('usage_ledger') as total, (select count(*) from usage_ledger) as rows, (select sum(quantity) from usage_ledger) as units`
    return { heap: Number(r!.heap), indexes: Number(r!.indexes), total: Number(r!.total), rows: Number(r!.rows), units: Number(r!.units) }
  }
  const before = await sizes()

  const { db, close } = createDb(url, { max: 1 })
  c.teardown(() => close())
  const cutoff = new Date(Date.now() - 48 * 3_600_000)
  const times: number[] = []
  let folded = 0
  for (;;) {
    const started = performance.now()
    const n = await compactLedger(db, cutoff, BATCH)
    times.push(performance.now() - started)
    folded += n
    if (n < BATCH) break
  }
  await sql`vacuum analyze usage_ledger`
  const afterVacuum = await sizes()
  await sql`vacuum full usage_ledger`
  const afterFull = await sizes()
  if (afterFull.units !== before.units) throw new Error(`units changed: ${before.units} → ${afterFull.units}`)

  const sorted = [...times].sort((a, b) => a - b)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1)
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`
  console.log(`\n${N.toLocaleString()} entries loaded in ${loadSeconds.toFixed(1)} s; ${folded.toLocaleString()} folded in ${times.length} batches of ${BATCH}`)
  console.log(`one batch: median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms; all ${(times.reduce((s, x) => s + x, 0) / 1000).toFixed(1)} s`)
  console.log('\nusage_ledger | rows | heap | indexes | total\n---|---|---|---|---')
  for (const [label, s] of [['before', before], ['compacted, after VACUUM (file sizes; the space is reused)', afterVacuum], ['compacted, after VACUUM FULL', afterFull]] as const) {
    console.log(`${label} | ${s.rows.toLocaleString()} | ${mb(s.heap)} | ${mb(s.indexes)} | ${mb(s.total)}`)
  }
  console.log(`\nunits counted: ${before.units.toLocaleString()} before, ${afterFull.units.toLocaleString()} after`)
} finally {
  await c.run()
}
