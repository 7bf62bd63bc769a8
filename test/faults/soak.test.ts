import t from 'tap'
import { RedisProcess } from '../helpers/redis-server.js'
import { emulatorEvents, type Customer, killWorker, pool, report, Sender, settle, shuffle, startFaultStack, subscribeCustomers, tally } from './kit.js'

// Fault 10, opt-in (TOLLGATE_SOAK=1, run by `npm run test:faults`): many customers' lifecycles —
// checkout and a renewal for every one; 10 % of the cards fail at the renewal (an email per failed
// attempt): half of those customers fix their card before the first retry and return to active, the
// other half fail every retry and their subscription is deleted — delivered shuffled with 30 %
// duplicates, while three workers are SIGKILLed and Redis is SIGKILLed and restarted.

const CUSTOMERS = Number(process.env.TOLLGATE_SOAK_CUSTOMERS ?? 2000)
const DAY = 86_400

if (process.env.TOLLGATE_SOAK !== '1') {
  t.plan(0, 'opt-in soak: TOLLGATE_SOAK=1 (npm run test:faults)')
} else {
  t.setTimeout(3_600_000)
  const redis = await RedisProcess.start()
  t.teardown(() => redis.destroy())
  const j = await startFaultStack(t, { redisUrl: redis.url, workers: 2, env: { WORKER_CONCURRENCY: '8' } })

  t.test(`soak: ${CUSTOMERS} customers, 30 % duplicates, shuffled, 3 worker kills, 1 Redis restart`, async t => {
    const started = Date.now()
    const customers = await subscribeCustomers(j, CUSTOMERS, { tag: 'soak', failShare: 0.1, concurrency: 16 })
    const truth = (c: Customer) => j.emulator.ctx.store.get('subscriptions', c.subscriptionId)!
    const advance = async (days: number) => {
      const before = Date.now()
      await j.control('clock/advance', { seconds: days * DAY })
      return Date.now() - before
    }
    // A month is at most 31 days, so every subscription renews in this advance; the failing cards decline.
    const renewalMs = await advance(31)
    const failing = customers.filter(c => truth(c).status === 'past_due')
    t.equal(failing.length, Math.round(CUSTOMERS * 0.1), 'the failing cards were declined at the renewal')
    for (const c of failing.slice(0, Math.round(failing.length / 2))) await j.control(`customers/${c.customerId}/fail-payments`, { fail: false })
    // Retries come 3, 5 and 7 days apart, so 15 more days run them all: the fixed cards pay at the
    // first one, the others are declined three more times and their subscription is deleted.
    const retriesMs = await advance(15)
    t.equal(customers.filter(c => truth(c).items.data[0].current_period_start > truth(c).start_date).length, CUSTOMERS, 'every customer went through a renewal')
    const deleted = customers.filter(c => truth(c).status === 'canceled').length
    t.equal(deleted, failing.length - Math.round(failing.length / 2), 'the cards never fixed lost their subscription')
    const events = emulatorEvents(j)
    const deliveries = shuffle([...events, ...shuffle(events).slice(0, Math.round(events.length * 0.3))])
    const sender = new Sender(`${j.api}/api/v1/webhook`)
    let sent = 0
    const faults: string[] = []
    const at = (share: number) => Math.round(deliveries.length * share)
    const plan = new Map<number, () => Promise<void>>([
      [at(0.2), () => killAndRestart('worker-1')],
      [at(0.4), () => killAndRestart('worker-2')],
      [at(0.55), restartRedis],
      [at(0.7), () => killAndRestart('worker-1')]
    ])
    let busy = Promise.resolve()
    // Emails a kill may legitimately repeat, counted at each kill (see killWorker in kit.ts).
    let resendable = 0
    async function killAndRestart (name: string) {
      const killed = await killWorker(j, j.processes.get(name)!)
      resendable += killed.resendable
      j.spawnProcess(name, 'workers/all.ts', { METRICS_PORT: '0' })
      faults.push(`SIGKILL ${name} at ${sent} (${killed.recovered} jobs recovered, ${killed.resendable} message(s) accepted by SMTP and not marked sent)`)
    }
    async function restartRedis () {
      await redis.stop('SIGKILL')
      await redis.start()
      faults.push(`Redis SIGKILL+restart at ${sent}`)
    }
    await pool(deliveries, 32, async e => {
      const fault = plan.get(sent++)
      if (fault) busy = busy.then(fault)
      await sender.deliver(e, { retry: true, maxAttempts: 500 })
    })
    await busy
    await settle(j, sender.acked, 1_800_000)
    const minutes = ((Date.now() - started) / 60_000).toFixed(1)
    // Email is at least once: a worker killed between the SMTP server's acceptance and marking the row
    // sent sends that message again, with the same Message-ID. Exactly those re-sends are allowed.
    t.equal(faults.length, 4, 'every planned fault ran')
    const notes = [
      `${CUSTOMERS} renewals, ${failing.length} declined, ${failing.length - deleted} recovered at the first retry, ${deleted} deleted after the last`,
      `clock advances ${renewalMs} ms + ${retriesMs} ms`,
      faults.join(', '),
      ...(resendable ? [`${resendable} email(s) accepted by SMTP but not marked sent when their worker was killed: as many re-sends allowed`] : []),
      `${minutes} min`
    ]
    report(t, await tally(j, sender, customers, { scenario: `soak: ${CUSTOMERS} customers, ${events.length} events, +30 % duplicates, shuffled`, notes: notes.join('; ') }), { duplicated: resendable })
  })
}
