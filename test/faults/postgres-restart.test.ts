import { writeFileSync } from 'node:fs'
import t from 'tap'
import { waitFor } from '../helpers/env.js'
import { PostgresProcess } from '../helpers/postgres-server.js'
import { newBatch, pool, report, retriedJobs, Sender, settle, shuffle, startFaultStack, tally, watchExits } from './kit.js'

// Fault 6b: the Postgres server itself restarted while the workers apply a batch, on a private
// cluster (the shared one serves other test runs). `-m fast` ends every session with an error and
// checkpoints; `-m immediate` is a crash followed by WAL recovery.

// Opt-in with the rest of the slow part: TOLLGATE_FAULTS=all (npm run test:faults).
if (process.env.TOLLGATE_FAULTS !== 'all') {
  t.plan(0, 'opt-in: TOLLGATE_FAULTS=all (npm run test:faults)')
} else {
  t.setTimeout(300_000)
  const pg = await PostgresProcess.start()
  t.teardown(() => pg.destroy())
  const j = await startFaultStack(t, { workers: 2, pgAdminUrl: pg.url })
  const webhook = `${j.api}/api/v1/webhook`
  t.teardown(() => { if (process.env.TOLLGATE_FAULT_LOGS) writeFileSync(process.env.TOLLGATE_FAULT_LOGS, j.logs.join('')) })
  const names = ['api', 'worker-1', 'worker-2']
  const pids = names.map(name => j.processes.get(name)!.pid)
  const exits = watchExits(j, names)

  /** Events of the batch applied so far, and transactions the api and workers have open right now. */
  const progress = async (ids: string[]) => (await j.sql`select
    (select count(*)::int from stripe_events where event_id = any(${ids}) and processed_at is not null) as applied,
    (select count(*)::int from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null) as open`)[0] as { applied: number, open: number }

  for (const mode of ['fast', 'immediate'] as const) {
    t.test(`Postgres restarted (pg_ctl restart -m ${mode}) while workers apply: every event once, no partial rows, no process dies`, async t => {
      const { customers, events } = await newBatch(j, `pgrestart_${mode}`, 16)
      const ids = events.map(e => e.id as string)
      const sender = new Sender(webhook)
      const delivering = pool(shuffle(events), 8, async e => { await sender.deliver(e, { retry: true }) })
      // Restart once the workers are well into the batch, with most of it still to apply and a transaction open.
      const before = await waitFor(async () => {
        const p = await progress(ids)
        return p.applied >= events.length / 4 && p.applied < events.length && p.open > 0 && p
      }, 'a quarter of the batch applied and a transaction open', 60_000, 10)
      const started = Date.now()
      await pg.restart(mode)
      const restartMs = Date.now() - started
      await delivering
      await settle(j, sender.acked, 120_000)

      const [orphans] = await j.sql`select count(*)::int as n from subscriptions s left join entitlements e on e.user_id = s.user_id where e.user_id is null`
      t.equal(orphans!.n, 0, 'no subscription without its entitlement')
      const [open] = await j.sql`select count(*)::int as n from stripe_events where event_id = any(${ids}) and processed_at is null`
      t.equal(open!.n, 0, 'no claimed event without its outcome')
      t.same(exits, [], 'the api and both workers stayed up')
      t.same(names.map(name => j.processes.get(name)!.pid), pids, 'with the same pids')
      t.notMatch(j.logs.join(''), /postgres\/src\/connection\.js|shutting down after error/, 'no driver error reached a process')
      const retried = await retriedJobs(j, 'stripe-events', ids)
      report(t, await tally(j, sender, customers, {
        scenario: `Postgres restarted (pg_ctl restart -m ${mode}) mid-batch`,
        notes: `restart took ${restartMs} ms, begun with ${before.applied}/${events.length} applied and ${before.open} transaction(s) open; ${retried} jobs retried; api and workers kept their pids`
      }))
    })
  }
}
