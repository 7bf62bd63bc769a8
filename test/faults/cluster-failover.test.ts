import { writeFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { HANDLED_EVENT_TYPES } from '../../src/billing/handled-event-types.js'
import { waitFor } from '../helpers/env.js'
import { RedisCluster } from '../helpers/redis-cluster.js'
import type { RedisProcess } from '../helpers/redis-server.js'
import { type EmulatorEvent, kill, newBatch, pool, report, retriedJobs, Sender, settle, shuffle, startFaultStack, tally } from './kit.js'

// Fault 11, on a Redis Cluster of three masters and three replicas (node timeout 2 s): the master
// that holds Tollgate's slot is SIGKILLed while webhooks are being acknowledged, and its replica
// takes over. Replication is asynchronous, so a job acknowledged just before the kill may never
// have reached the replica. Each scenario counts what became of the events acknowledged before the
// kill (applied in time, applied only after the failover, lost), then starts a worker whose
// reconciliation sweep runs every 5 s and counts again once it has run.

const CUSTOMERS = 40
const HELD_ACKS = 24

if (process.env.TOLLGATE_FAULTS !== 'all') {
  t.plan(0, 'opt-in: TOLLGATE_FAULTS=all (npm run test:faults)')
} else {
  t.setTimeout(300_000)
  const cluster = await RedisCluster.start()
  t.teardown(() => cluster.destroy())
  const j = await startFaultStack(t, { redisUrl: cluster.url, workers: 2 })
  t.teardown(() => { if (process.env.TOLLGATE_FAULT_LOGS) writeFileSync(process.env.TOLLGATE_FAULT_LOGS, j.logs.join('')) })

  /**
   * Delivers a new batch, SIGKILLs the master halfway (after `beforeKill`, which may hold its replica
   * back), waits for the replica to take over and the workers to go idle, counts, then sweeps.
   */
  async function failover (t: Test, tag: string, scenario: string, hold?: { master: (m: RedisProcess, r: RedisProcess) => Promise<void>, acksWhileHeld: number, release: (r: RedisProcess) => void }) {
    const { customers, events } = await newBatch(j, tag, CUSTOMERS)
    const ids = events.map(e => e.id as string)
    const master = await cluster.masterOf(j.prefix)
    const replica = await cluster.replicaOf(master)
    const sender = new Sender(`${j.api}/api/v1/webhook`)
    const ackedAt = new Map<string, number>()
    const deliver = async (e: EmulatorEvent) => {
      await sender.deliver(e, { retry: true, maxAttempts: 400 })
      ackedAt.set(e.id as string, Date.now())
    }
    const order = shuffle(events)
    const half = Math.round(order.length / 2)
    const held = hold?.acksWhileHeld ?? 0
    await pool(order.slice(0, half), 16, deliver)
    let heldAt = Infinity
    if (hold) {
      await hold.master(master, replica)
      heldAt = Date.now()
      await pool(order.slice(half, half + held), 16, deliver)
    }
    // The kill lands while deliveries are in flight.
    let killedAt = 0
    let failedOver: Promise<number> | undefined
    let started = 0
    await pool(order.slice(half + held), 16, async e => {
      if (++started === 8) {
        killedAt = Date.now()
        await master.stop('SIGKILL')
        hold?.release(replica)
        failedOver = waitFor(async () => (await cluster.masterOf(j.prefix)).port === replica.port && Date.now() - killedAt, 'the replica to take over', 60_000, 50)
      }
      await deliver(e)
    })
    const failoverMs = await failedOver!
    const refused = sender.deliveries - sender.acked.size

    // Without the sweep a lost job stays lost: wait until nothing more gets applied, then count.
    const applied = async () => new Set((await j.sql`select event_id from stripe_events where event_id = any(${ids}) and processed_at is not null`).map(r => r.event_id as string))
    let stable = 0
    let last = -1
    await waitFor(async () => {
      const n = (await applied()).size
      stable = n === last ? stable + 1 : 0
      last = n
      return n === ids.length || stable >= 25
    }, 'the workers to apply what they have', 120_000, 200)
    const done = await applied()
    const before = [...ackedAt].filter(([, at]) => at < killedAt).map(([id]) => id)
    const rows = await j.sql`select processed_at from stripe_events where event_id = any(${before})`
    const delayed = rows.filter(r => (r.processed_at as Date).getTime() > killedAt).length
    const lost = [...sender.acked].filter(id => !done.has(id))
    const lostAfterHold = lost.filter(id => ackedAt.get(id)! >= heldAt).length
    // The sweep lists the types Tollgate acts on; a lost event of another type would only have been recorded as ignored.
    const typeOf = new Map(events.map(e => [e.id as string, e.type as string]))
    const ignorable = lost.filter(id => !(HANDLED_EVENT_TYPES as readonly string[]).includes(typeOf.get(id)!))

    const sweeper = j.spawnProcess('sweeper', 'workers/stripe-events.ts', { METRICS_PORT: '0', RECONCILE_EVERY_SECONDS: '5' })
    const sweepStarted = Date.now()
    await settle(j, [...sender.acked].filter(id => !ignorable.includes(id)), 120_000)
    const repairMs = Date.now() - sweepStarted
    await kill(sweeper, 'SIGTERM')
    const rerun = await retriedJobs(j, 'stripe-events', ids)
    report(t, await tally(j, sender, customers, {
      scenario,
      excused: ignorable,
      notes: `failover ${failoverMs} ms; ${refused} deliveries refused meanwhile (503) and retried; of ${before.length} events acknowledged before the kill, ` +
        `${delayed} applied after it; ${lost.length} acknowledged event(s) lost${hold ? ` (${lostAfterHold} of them acknowledged while the replica was held back)` : ''}: ` +
        `${lost.length - ignorable.length} of the types Tollgate acts on, all applied ${(repairMs / 1000).toFixed(1)} s after a worker with a 5 s sweep started, ` +
        `and ${ignorable.length} of types it records as ignored, which the sweep does not list; ${rerun} job(s) ran more than once (the claim made them no-ops)`
    }))
    return { lost: lost.length, lostAfterHold, repaired: lost.length - ignorable.length }
  }

  t.test('the master of Tollgate\'s slot SIGKILLed mid-ingest: its replica takes over', async t => {
    await failover(t, 'failover', 'Redis Cluster: SIGKILL the master of Tollgate\'s slot mid-ingest (replica takes over)')
  })

  t.test('the same after its replica fell behind: what it never received is lost, and the sweep queues it again', async t => {
    // The killed master comes back as a replica of the new one, so the slot has a replica again.
    const old = cluster.nodes.find(n => !n.running)!
    await old.start()
    await cluster.waitHealthy()
    // The replica is stopped and its replication link cut, as a network partition between the two
    // would: the master goes on acknowledging jobs the replica never gets. The workers are stopped
    // meanwhile (a backlog), so those jobs are still waiting in Redis when the master dies.
    const workers = ['worker-1', 'worker-2'].map(name => j.processes.get(name)!)
    const { lost, lostAfterHold, repaired } = await failover(t, 'lagging', 'Redis Cluster: replica cut off, then the master SIGKILLed (replica takes over)', {
      master: async (master, replica) => {
        for (const w of workers) w.kill('SIGSTOP')
        replica.proc!.kill('SIGSTOP')
        const c = new Redis(master.url)
        try { await c.client('KILL', 'TYPE', 'replica') } finally { c.disconnect() }
      },
      acksWhileHeld: HELD_ACKS,
      release: replica => {
        replica.proc!.kill('SIGCONT')
        for (const w of workers) w.kill('SIGCONT')
      }
    })
    t.equal(lostAfterHold, HELD_ACKS, `the ${HELD_ACKS} jobs acknowledged while the replica was cut off were lost by the failover (${lost} in all)`)
    t.ok(repaired > 0, `${repaired} of them were of types Tollgate acts on and were applied after the sweep`)
  })
}
