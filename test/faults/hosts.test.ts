import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import t from 'tap'
import { catalogue, emulatorEvents, kill, pool, report, Sender, settle, shuffle, startFaultStack, tally, type Customer } from './kit.js'
import { mixedBacklog, type StripeEvent } from '../bench/lib/corpus.js'
import { toEventJob } from '../../src/stripe/webhook.js'
import { testRedis, waitFor } from '../helpers/env.js'
import { canBuildHosts, VirtualHosts } from '../helpers/netns.js'
import { PostgresProcess } from '../helpers/postgres-server.js'
import { RedisProcess } from '../helpers/redis-server.js'

// Fault 12, opt-in (TOLLGATE_FAULTS=all, as root): four hosts on one machine. Three network
// namespaces joined by veth pairs to a bridge — the api on one, two worker processes on each of two
// others — and this namespace as the fourth, where Redis, Postgres, the Stripe emulator and the SMTP
// sink listen on the bridge's address. 500 users check out through the product API and renew; one
// worker host's link is cut mid-run for longer than a job lock lives, then restored. Then the apply
// throughput of 1, 2 and 4 worker processes spread over the two worker hosts.

const USERS = Number(process.env.TOLLGATE_HOSTS_USERS ?? 500)
const CUT_MS = Number(process.env.TOLLGATE_HOSTS_CUT_MS ?? 40_000)
const BACKLOG = Number(process.env.TOLLGATE_HOSTS_BACKLOG ?? 6000)
const DAY = 86_400

if (process.env.TOLLGATE_FAULTS !== 'all' || !canBuildHosts()) {
  t.plan(0, 'opt-in: TOLLGATE_FAULTS=all (npm run test:faults), as root with iproute2')
} else {
  t.setTimeout(1_200_000)
  const net = VirtualHosts.create(['api', 'workers-a', 'workers-b'])
  t.teardown(() => net.destroy())
  const redis = await RedisProcess.start(['--appendfsync', 'everysec'], net.bridgeAddress)
  t.teardown(() => redis.destroy())
  const pg = await PostgresProcess.start({ host: net.bridgeAddress, maxConnections: 200 })
  t.teardown(() => pg.destroy())
  const placement = new Map([['api', 'api'], ['worker-1', 'workers-a'], ['worker-2', 'workers-a'], ['worker-3', 'workers-b'], ['worker-4', 'workers-b']])
  const j = await startFaultStack(t, {
    redisUrl: redis.url,
    pgAdminUrl: pg.url,
    workers: 4,
    network: { bind: net.bridgeAddress, apiAddress: net.addressOf('api'), namespaceOf: name => (placement.has(name) ? net.namespaceOf(placement.get(name)!) : undefined) }
  })
  t.teardown(() => { if (process.env.TOLLGATE_FAULT_LOGS) writeFileSync(process.env.TOLLGATE_FAULT_LOGS, j.logs.join('')) })

  t.test(`${USERS} users check out through the product API and renew; a worker host's link is cut for ${CUT_MS / 1000} s mid-run`, async t => {
    const plans = catalogue.plans.map(p => p.id)
    const customers: Customer[] = []
    await pool(Array.from({ length: USERS }, (_, i) => i), 16, async i => {
      const userId = `u_hosts_${i}`
      const email = `${userId}@example.test`
      const checkout = await j.call('POST', '/api/v1/create-checkout', { plan_id: plans[i % plans.length], user_id: userId, email })
      if (checkout.status !== 200) throw new Error(`create-checkout ${checkout.status}: ${JSON.stringify(checkout.body)}`)
      const done = await j.control(`checkout/${checkout.body.session_id}/complete`, { outcome: 'paid' })
      // A tenth of the cards fail at the renewal: past_due and one email each.
      if (i % 10 === 0) await j.control(`customers/${done.customer}/fail-payments`, { fail: true })
      customers.push({ userId, email, customerId: done.customer, subscriptionId: done.subscription })
    })
    await j.control('clock/advance', { seconds: 31 * DAY })
    const events = emulatorEvents(j)
    const deliveries = shuffle([...events, ...shuffle(events).slice(0, Math.round(events.length * 0.1))])
    const sender = new Sender(`${j.api}/api/v1/webhook`)
    let sent = 0
    let cutAt = 0
    let restoredAt = 0
    let link: Promise<void> = Promise.resolve()
    const cutAtDelivery = Math.round(deliveries.length * 0.3)
    const started = Date.now()
    await pool(deliveries, 32, async e => {
      if (++sent === cutAtDelivery) {
        net.cut('workers-b')
        cutAt = Date.now()
        link = new Promise(resolve => setTimeout(resolve, CUT_MS)).then(() => { net.restore('workers-b'); restoredAt = Date.now() })
      }
      await sender.deliver(e, { retry: true, maxAttempts: 400 })
    })
    await link
    await settle(j, sender.acked, 300_000)
    const seconds = ((Date.now() - started) / 1000).toFixed(0)
    const logs = j.logs.join('')
    const lockLost = (logs.match(/Missing lock for job/g) ?? []).length
    const stalled = (logs.match(/job stalled more than allowable limit/g) ?? []).length
    report(t, await tally(j, sender, customers, {
      scenario: `several hosts: ${USERS} users check out (product API) and renew; workers-b's link cut ${CUT_MS / 1000} s mid-run`,
      notes: `${events.length} events + 10 % duplicates over the virtual network; link down at delivery ${cutAtDelivery} for ${((restoredAt - cutAt) / 1000).toFixed(1)} s; ` +
        `${lockLost} completion(s) of workers-b refused afterwards for a lost lock (their jobs had been taken over; the claims made the reruns no-ops), ${stalled} failed as stalled; ${seconds} s in all`
    }))
    t.equal(stalled, 0, 'no job failed for stalling')
  })

  t.test('apply throughput with 1, 2 and 4 worker processes over the network', async t => {
    for (const name of ['worker-1', 'worker-2', 'worker-3', 'worker-4']) await kill(j.processes.get(name)!, 'SIGTERM')
    const corpus = emulatorEvents(j) as unknown as StripeEvent[]
    const connection = testRedis(redis.url)
    const queue = new Queue('stripe-events', { connection, prefix: j.prefix })
    t.teardown(async () => { await queue.close(); connection.disconnect() })
    const rows: string[] = []
    for (const k of [1, 2, 4]) {
      const tag = `tp${k}x`
      const backlog = mixedBacklog(corpus, BACKLOG, tag)
      for (let i = 0; i < backlog.length; i += 500) {
        await queue.addBulk(backlog.slice(i, i + 500).map(e => ({ name: e.type, data: toEventJob(e as never), opts: { jobId: e.id } })))
      }
      const names = Array.from({ length: k }, (_, i) => `tp${k}-${i + 1}`)
      names.forEach((name, i) => placement.set(name, i < Math.ceil(k / 2) ? 'workers-a' : 'workers-b'))
      const workers = names.map(name => j.spawnProcess(name, 'workers/stripe-events.ts', { METRICS_PORT: '0' }))
      const applied = async () => Number((await j.sql`select count(*)::int as n from stripe_events where event_id like ${`evt_${tag}%`}`)[0]!.n)
      await waitFor(async () => await applied() > 0, 'the first event applied', 120_000, 50)
      const cpu0 = { redis: cpuOf([redis.proc!.pid!]), pg: cpuOf(treeOf(postmasterPid(pg))), workers: cpuOf(workers.map(w => w.pid!)) }
      const [t0, n0] = [Date.now(), await applied()]
      await waitFor(async () => await applied() === BACKLOG, `${BACKLOG} events applied`, 600_000, 100)
      const seconds = (Date.now() - t0) / 1000
      const rate = (BACKLOG - n0) / seconds
      // Cores busy, and CPU milliseconds per event applied: the second holds when the host is shared.
      const use = (before: number, pids: number[]) => {
        const cpu = cpuOf(pids) - before
        return `${(cpu / seconds).toFixed(2)} (${(cpu * 1000 / (BACKLOG - n0)).toFixed(2)} ms)`
      }
      rows.push(`| ${k} | ${names.map(n => placement.get(n)).join(', ')} | ${Math.round(rate)} | ${use(cpu0.workers, workers.map(w => w.pid!))} | ${use(cpu0.pg, treeOf(postmasterPid(pg)))} | ${use(cpu0.redis, [redis.proc!.pid!])} | ${loadAverage()} |`)
      for (const w of workers) await kill(w, 'SIGTERM')
      t.equal(await applied(), BACKLOG, `${k} worker process(es): every event of the backlog applied`)
    }
    t.comment(`apply throughput, ${BACKLOG} queued events per run\n| worker processes | hosts | events/s | worker cores (CPU per event) | Postgres cores (per event) | Redis cores (per event) | load average |\n|---|---|---|---|---|---|---|\n${rows.join('\n')}`)
  })
}

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!

/** CPU seconds (user + system) the processes have used so far. */
function cpuOf (pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch { /* exited */ }
  }
  return ticks / 100
}

function postmasterPid (pg: PostgresProcess): number {
  return Number(readFileSync(join(pg.data, 'postmaster.pid'), 'utf8').split('\n')[0])
}

/** A process and all its descendants (Postgres's backends are the postmaster's children). */
function treeOf (root: number): number[] {
  const parent = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try { parent.set(Number(entry), Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1])) } catch { /* exited */ }
  }
  const out = [root]
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid)
  return out
}
