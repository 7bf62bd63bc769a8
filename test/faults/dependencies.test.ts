import { writeFileSync } from 'node:fs'
import postgres from 'postgres'
import t from 'tap'
import { startMailCatcher } from '../../scripts/stack/mail-catcher.js'
import { API_KEY, PG_ADMIN_URL, waitFor } from '../helpers/env.js'
import { catalogue, emulatorEvents, newBatch, pool, report, retriedJobs, Sender, settle, shuffle, startFaultStack, tally, watchExits } from './kit.js'

// Faults 6, 7 and 8: Postgres connections terminated mid-batch, the SMTP server refusing
// connections for a while, and Stripe (the emulator) answering 500/429 for a while.

// Opt-in with the rest of the slow part: TOLLGATE_FAULTS=all (npm run test:faults).
if (process.env.TOLLGATE_FAULTS !== 'all') {
  t.plan(0, 'opt-in: TOLLGATE_FAULTS=all (npm run test:faults)')
} else {
  t.setTimeout(240_000)
  const j = await startFaultStack(t, { workers: 2 })
  const webhook = `${j.api}/api/v1/webhook`
  t.teardown(() => { if (process.env.TOLLGATE_FAULT_LOGS) writeFileSync(process.env.TOLLGATE_FAULT_LOGS, j.logs.join('')) })
  const DAY = 86_400

  t.test('Postgres connections terminated again and again mid-batch: retries, no partial rows, final state right, no process dies', async t => {
    const { customers, events } = await newBatch(j, 'pgkill', 12, 0.5)
    const names = ['api', 'worker-1', 'worker-2']
    const pids = names.map(name => j.processes.get(name)!.pid)
    const exits = watchExits(j, names)
    const dbName = new URL(j.env.DATABASE_URL!).pathname.slice(1)
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
    t.teardown(() => admin.end())
    const observer = postgres(j.env.DATABASE_URL!, { max: 1, onnotice: () => {}, connection: { application_name: 'tg-fault-observer' } })
    t.teardown(() => observer.end())
    let terminated = 0
    let stop = false
    const killer = (async () => {
      while (!stop) {
        const rows = await admin`select pg_terminate_backend(pid) as ok from pg_stat_activity
          where datname = ${dbName} and pid <> pg_backend_pid() and application_name <> 'tg-fault-observer'`.catch(() => [])
        terminated += rows.filter(r => r.ok).length
        await new Promise(resolve => setTimeout(resolve, 500))
      }
    })()
    const sender = new Sender(webhook)
    await pool(shuffle(events), 8, async e => { await sender.deliver(e, { retry: true }) })
    // Keep terminating until most of the batch went through the workers' ever-dying connections.
    await waitFor(async () => (await observer`select count(*)::int as n from stripe_events where event_id = any(${[...sender.acked]}) and processed_at is not null`)[0]!.n >= events.length * 0.8, 'most events applied under fire', 120_000, 200)
    stop = true
    await killer
    t.ok(terminated > 0, `${terminated} connections terminated`)
    await settle(j, sender.acked, 120_000)
    // A partial apply would leave a subscription without its entitlement or an event without its state.
    const [orphans] = await j.sql`select count(*)::int as n from subscriptions s left join entitlements e on e.user_id = s.user_id where e.user_id is null`
    t.equal(orphans!.n, 0, 'no subscription without its entitlement')
    t.same(exits, [], 'the api and both workers stayed up')
    t.same(names.map(name => j.processes.get(name)!.pid), pids, 'with the same pids')
    t.notMatch(j.logs.join(''), /postgres\/src\/connection\.js|shutting down after error/, 'no driver error reached a process')
    const retried = await retriedJobs(j, 'stripe-events', events.map(e => e.id as string))
    report(t, await tally(j, sender, customers, { scenario: 'pg_terminate_backend every 500 ms mid-batch', notes: `${terminated} connections terminated; ${retried} jobs retried; api and workers kept their pids` }))
  })

  t.test('SMTP refusing connections for a while: email delayed, none lost, none twice', async t => {
    const { customers, events } = await newBatch(j, 'smtp', 6, 1)
    const sender = new Sender(webhook)
    await pool(events, 8, async e => { await sender.deliver(e, { retry: true }) })
    await settle(j, sender.acked)
    const port = j.mail.smtpPort
    await j.mail.close()
    const before = new Set(emulatorEvents(j).map(e => e.id))
    await j.control('clock/advance', { seconds: 31 * DAY })
    const renewal = emulatorEvents(j).filter(e => !before.has(e.id) && customers.some(c => JSON.stringify(e.data.object).includes(c.customerId)))
    await pool(renewal, 8, async e => { await sender.deliver(e, { retry: true }) })
    await waitFor(async () => (await j.sql`select count(*)::int as n from email_outbox where last_error is not null and status = 'pending'`)[0]!.n >= customers.length, 'sends to fail while SMTP is down', 30_000, 100)
    const [{ attempts }] = await j.sql`select sum(attempts)::int as attempts from email_outbox where status = 'pending'`
    const back = await startMailCatcher({ smtpPort: port })
    t.teardown(() => back.close())
    await settle(j, sender.acked, 120_000)
    j.mail.messages.push(...back.messages)
    report(t, await tally(j, sender, customers, { scenario: 'SMTP refusing connections, then back', notes: `${attempts} refused send attempts before it came back` }))
  })

  t.test('Stripe answering 500 and then 429 for a while: workers retry, checkout fails cleanly, nothing half-done', async t => {
    const { customers, events } = await newBatch(j, 'stripe5xx', 6)
    await j.control('fail-api', { status: 500, count: 40 })
    const sender = new Sender(webhook)
    await pool(events.slice(0, events.length / 2), 8, async e => { await sender.deliver(e, { retry: true }) })
    await j.control('fail-api', { status: 429, count: 40 })
    await pool(events.slice(events.length / 2), 8, async e => { await sender.deliver(e, { retry: true }) })
    await settle(j, sender.acked, 120_000)

    const call = (body: unknown) => fetch(`${j.api}/api/v1/create-checkout`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    await j.control('fail-api', { status: 500, count: 1000 })
    const refused = await call({ plan_id: catalogue.plans[0]!.id, user_id: 'u_checkout_5xx', email: 'u_checkout_5xx@example.test' })
    t.ok(refused.status >= 500 && refused.status < 600, `create-checkout answered ${refused.status} while Stripe failed`)
    t.match(await refused.json(), { error: String }, 'with an error body')
    t.same(await j.sql`select session_id from checkout_sessions where user_id = 'u_checkout_5xx'`, [], 'no checkout session recorded')
    await j.control('fail-api', { status: 500, count: 0 })
    const ok = await call({ plan_id: catalogue.plans[0]!.id, user_id: 'u_checkout_5xx', email: 'u_checkout_5xx@example.test' })
    t.equal(ok.status, 200, 'the same checkout works once Stripe is back')
    const stripeCustomers = (j.emulator.ctx.store.dump().customers as Array<Record<string, any>>).filter(c => c.email === 'u_checkout_5xx@example.test' || c.metadata?.user_id === 'u_checkout_5xx')
    t.equal(stripeCustomers.length, 1, 'one Stripe customer for the user, not one per attempt')
    report(t, await tally(j, sender, customers, { scenario: 'Stripe API 500 ×40 then 429 ×40 while applying', notes: `create-checkout during the outage: ${refused.status}, then 200; one Stripe customer` }))
  })
}
