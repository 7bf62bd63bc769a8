import t from 'tap'
import { emulatorEvents, kill, killWorker, pool, reached, report, Sender, settle, shuffle, startFaultStack, subscribeCustomers, tally, type Customer } from './kit.js'

// Fault 2: a worker SIGKILLed inside the apply transaction just before commit, just after commit
// (before the email job and cache invalidation), and after the SMTP server took a message but before
// the outbox row was marked sent. The workers stop at those points through TOLLGATE_FAULT_PAUSE.

t.setTimeout(240_000)
const j = await startFaultStack(t, { workers: 1 })
const DAY = 86_400

const customers = await subscribeCustomers(j, 6, { tag: 'kill', failShare: 1 })
const setup = new Sender(`${j.api}/api/v1/webhook`)
await pool(emulatorEvents(j), 8, async e => { await setup.deliver(e, { retry: true }) })
await settle(j, setup.acked)
const before = new Set(emulatorEvents(j).map(e => e.id))
// Every card fails: each renewal brings past_due and one payment_failed email.
await j.control('clock/advance', { seconds: 31 * DAY })
const renewal = emulatorEvents(j).filter(e => !before.has(e.id))
const eventsOf = (c: Customer) => renewal.filter(e => JSON.stringify(e.data.object).includes(c.customerId))
let normal = j.processes.get('worker-1')!

for (const [i, point] of (['before-commit', 'after-commit', 'after-smtp'] as const).entries()) {
  t.test(`SIGKILL a worker ${point}`, async t => {
    const mine = customers.slice(i * 2, i * 2 + 2)
    await kill(normal, 'SIGTERM')
    const paused = j.spawnProcess(`paused-${point}`, 'workers/all.ts', { METRICS_PORT: '0', TOLLGATE_FAULT_PAUSE: point })
    const sender = new Sender(`${j.api}/api/v1/webhook`)
    await pool(shuffle(mine.flatMap(eventsOf)), 8, async e => { await sender.deliver(e, { retry: true }) })
    const stoppedAt = await reached(j, point)
    // Messages the SMTP server accepted whose outbox rows were never marked sent: the retry sends each
    // again. More than the pause file names when a second send got past SMTP in the moment before the kill.
    const { resendable, recovered } = await killWorker(j, paused)
    t.ok(recovered >= stoppedAt.length, `the killed worker's ${recovered} job(s) recovered, the ${stoppedAt.length} stopped at ${point} among them`)
    if (point === 'after-smtp') t.ok(resendable >= 1, 'the worker died with a message accepted and not marked sent')
    else t.equal(resendable, 0, 'no message was in flight')
    normal = j.spawnProcess(`worker-after-${point}`, 'workers/all.ts', { METRICS_PORT: '0' })
    await settle(j, sender.acked)
    const row = await tally(j, sender, mine, { scenario: `worker SIGKILL ${point}`, notes: `${stoppedAt.length} job(s) stopped there, ${recovered} recovered as stalled${resendable ? `; ${resendable} duplicate email(s) allowed` : ''}` })
    report(t, row, { duplicated: resendable })
  })
}
