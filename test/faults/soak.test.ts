import t from 'tap'
import { RedisProcess } from '../helpers/redis-server.js'
import { emulatorEvents, kill, pool, recoverStalled, report, Sender, settle, shuffle, startFaultStack, subscribeCustomers, tally } from './kit.js'

// Fault 10, opt-in (TOLLGATE_SOAK=1, run by `npm run test:faults`): many customers' lifecycles —
// checkout, and for the first 300 a renewal, failed for 10 % of them with an email each — delivered
// shuffled with 30 % duplicates,
// while three workers are SIGKILLed and Redis is SIGKILLed and restarted.

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
    // The emulator's clock walks every subscription at every due moment, so advancing it over thousands
    // of them takes very long: a cohort lives through a renewal (10 % of cards failing, one email
    // each), the rest check out afterwards.
    const cohort = Math.min(CUSTOMERS, 300)
    const customers = await subscribeCustomers(j, cohort, { tag: 'soak', failShare: 0.1, concurrency: 16 })
    await j.control('clock/advance', { seconds: 31 * DAY })
    customers.push(...await subscribeCustomers(j, CUSTOMERS - cohort, { tag: 'soak2', concurrency: 16 }))
    const events = emulatorEvents(j)
    const deliveries = shuffle([...events, ...shuffle(events).slice(0, Math.round(events.length * 0.3))])
    const sender = new Sender(`${j.api}/api/v1/webhook`)
    let sent = 0
    const faults: string[] = []
    const at = (share: number) => Math.round(deliveries.length * share)
    const plan = new Map<number, () => Promise<void>>([
      [at(0.2), () => killWorker('worker-1')],
      [at(0.4), () => killWorker('worker-2')],
      [at(0.55), restartRedis],
      [at(0.7), () => killWorker('worker-1')]
    ])
    let busy = Promise.resolve()
    async function killWorker (name: string) {
      await kill(j.processes.get(name)!)
      await recoverStalled(j, 'stripe-events')
      await recoverStalled(j, 'email')
      j.spawnProcess(name, 'workers/all.ts', { METRICS_PORT: '0' })
      faults.push(`SIGKILL ${name} at ${sent}`)
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
    report(t, await tally(j, sender, customers, { scenario: `soak: ${CUSTOMERS} customers, ${events.length} events, +30 % duplicates, shuffled`, notes: `${faults.join(', ')}; ${minutes} min` }))
  })
}
