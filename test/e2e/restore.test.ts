import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { waitFor } from '../helpers/env.js'
import { emulatorEvents, subscribeCustomers, type Customer } from '../faults/kit.js'
import { startJourney } from './harness.js'

// Postgres restored from an older dump while Redis keeps running, as an operator would after losing
// the database: outbox ids start again from the dump's, and Redis still holds the finished send jobs
// of the rows written after it. Every payment-failed email must still go out: the new rows' (whose
// ids repeat), and those of the events the restore lost, once reconciliation has applied them again.

t.setTimeout(240_000)
const DAY = 86_400

t.test('a database restored from an older dump under a live Redis loses no email', async t => {
  const j = await startJourney(t, { workers: 1 })
  const dumpFile = join(mkdtempSync(join(tmpdir(), 'tg-restore-')), 'tollgate.dump')
  const tools = (cmd: string, args: string[]) => {
    const res = spawnSync(cmd, args, { encoding: 'utf8' })
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${res.stderr}`)
    return res.stdout
  }
  const failedEvents = () => emulatorEvents(j).filter(e => e.type === 'invoice.payment_failed')
  const messageIds = () => j.mail.messages.map(m => m.MessageID)
  const expectedId = (eventId: string) => `<${eventId}.payment_failed@example.test>`

  /** One month on the emulator's clock with `customer`'s card declining: one invoice.payment_failed, one email. */
  const failRenewal = async (customer: Customer) => {
    const before = failedEvents().length
    await j.control(`customers/${customer.customerId}/fail-payments`, { fail: true })
    await j.control('clock/advance', { seconds: 31 * DAY })
    const [event] = await waitFor(() => { const e = failedEvents().slice(before); return e.length ? e : null }, `${customer.userId}'s renewal to fail`)
    // The card works again: its retry succeeds next month, so each month has one failure.
    await j.control(`customers/${customer.customerId}/fail-payments`, { fail: false })
    return event!.id as string
  }
  const emailed = (eventId: string) => waitFor(() => messageIds().includes(expectedId(eventId)), `the email for ${eventId}`, 30_000)
  // The harness's client would lose its sessions to the drop below, which postgres.js does not always
  // recover from: this test reads through a client of its own, ended before the drop and opened again.
  let sql = postgres(j.env.DATABASE_URL!, { max: 1, onnotice: () => {} })
  t.teardown(() => sql.end())
  const outboxIds = async () => (await sql`select id from email_outbox order by id`).map(r => Number(r.id))

  const [ada, bob, cy] = await subscribeCustomers(j, 3, { tag: 'restore' })
  const adaEvent = await failRenewal(ada!)
  await emailed(adaEvent)
  await j.settled()
  tools('pg_dump', ['-Fc', '-d', j.env.DATABASE_URL!, '-f', dumpFile])
  const idsAtDump = await outboxIds()
  const messageIdsAtDump = messageIds()

  // After the backup: Bob's renewal fails and his email goes out; its job completes in Redis.
  const bobEvent = await failRenewal(bob!)
  await emailed(bobEvent)
  await j.settled()
  const bobRow = (await outboxIds()).filter(id => !idsAtDump.includes(id))
  t.ok(bobRow.length >= 1, "Bob's email rows were written after the dump")
  // Every failure whose record the restore loses (a retry may fail within the same month too).
  const lostByRestore = failedEvents().map(e => e.id as string).filter(id => id !== adaEvent && !messageIdsAtDump.includes(expectedId(id)))

  // The database is lost and restored from the dump; the processes are stopped meanwhile, Redis is not.
  const stop = async (name: string) => {
    const child = j.processes.get(name) as ChildProcess
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
  await Promise.all(['api', 'worker-1'].map(stop))
  await Promise.all([sql.end(), j.sql.end()])
  const database = new URL(j.env.DATABASE_URL!).pathname.slice(1)
  const admin = j.env.DATABASE_URL!.replace(/\/[^/]*$/, '/postgres')
  tools('psql', ['-q', '-d', admin, '-c', `drop database ${database} with (force)`, '-c', `create database ${database}`])
  tools('pg_restore', ['-d', j.env.DATABASE_URL!, dumpFile])
  sql = postgres(j.env.DATABASE_URL!, { max: 1, onnotice: () => {} })
  t.same(await outboxIds(), idsAtDump, "the restored outbox lacks Bob's row")
  j.spawnProcess('api', 'src/server.ts')
  j.spawnProcess('worker-1', 'workers/all.ts', { METRICS_PORT: '0' })
  await j.apiReady()

  // A new failure after the restore: its row takes Bob's id again, and Redis still has Bob's finished job.
  const cyEvent = await failRenewal(cy!)
  await emailed(cyEvent)
  // Whichever is written first after the restore (Cy's row, or Bob's when a sweep applies his lost event
  // again first) takes the id of Bob's lost row, whose job Redis still holds as finished.
  const rewritten = (await sql`select id from email_outbox where id > ${Math.max(0, ...idsAtDump)}`).map(r => Number(r.id))
  t.ok(rewritten.includes(bobRow[0]!), "a row written after the restore reuses the id of Bob's lost row")

  // The documented step after a restore: reconcile from before the backup; Bob's event is applied again.
  // Not spawnSync: the emulator answering it runs in this process.
  const reconcile = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), new URL('../../scripts/reconcile.ts', import.meta.url).pathname, '--since', '100d'], {
    env: j.env, cwd: tmpdir(), stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  reconcile.stderr.on('data', (c: Buffer) => { stderr += c })
  t.equal(await new Promise(resolve => reconcile.once('exit', resolve)), 0, stderr)
  const twice = (id: string) => messageIds().filter(m => m === expectedId(id)).length === 2
  await waitFor(() => lostByRestore.every(twice), 'the emails of the events the restore lost sent again', 30_000)
  // (Not j.settled(): events of ignored types delivered before the restore are gone for good, by design.)
  await waitFor(async () => (await sql`select count(*)::int as n from email_outbox where status <> 'sent'`)[0]!.n === 0, 'every outbox row sent', 30_000)

  const events = failedEvents().map(e => e.id as string)
  t.ok(events.includes(cyEvent) && lostByRestore.includes(bobEvent), `${events.length} renewals failed, ${lostByRestore.length} of them between the dump and the restore`)
  const counts = Object.fromEntries(events.map(id => [id, messageIds().filter(m => m === expectedId(id)).length]))
  t.same(events.filter(id => counts[id] === 0), [], 'no email lost')
  t.same(Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 1)), Object.fromEntries(lostByRestore.map(id => [id, 2])),
    'sent twice only where the restore lost the record of the first send, both times with the same Message-ID')
})
