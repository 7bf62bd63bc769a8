import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mixedBacklog, type StripeEvent } from '../lib/corpus.js'
import { cpuSeconds, QUICK, sleep, throwIfExited } from '../lib/env.js'
import type { Stack } from '../lib/stack.js'

export type ApplyVariant = 'tollgate-1' | 'tollgate-2' | 'endpoint-2' | 'minimal-2'
export interface ApplyRound {
  variant: ApplyVariant
  round: number
  events: number
  /** Events finished within the measured window (all of them when the backlog drained in it). */
  finished: number
  drained: boolean
  seconds: number
  eventsPerSec: number
  failed: number
  /** CPU seconds per wall second (1.0 = one core busy). */
  postgresCores: number
  redisCores: number
  workerCores: number
  /** The emulator standing in for Stripe: every Tollgate event costs it one subscription read. */
  emulatorCores: number
  outcomes?: Record<string, number>
  /** endpoint-2: product events written by the end of the window, and those the endpoint received meanwhile. */
  productEvents?: { written: number, delivered: number }
}

/**
 * Apply: a backlog of N mixed lifecycle events is queued with no worker running, then drained by
 * one or two Tollgate worker processes, or by two processes of the minimal-upsert baseline. The
 * clock runs from the first finished job (worker start-up is excluded) to the last one, or for at
 * most BENCH_APPLY_WINDOW seconds (default 30) of draining, so that a slow variant cannot stretch
 * the run past its time budget: the rate is then the events finished within the window.
 * `endpoint-2` is `tollgate-2` with one product endpoint configured (a local server answering 204),
 * and a third process delivering the product events meanwhile, as production would run it.
 */
export async function apply (stack: Stack, events: StripeEvent[], n: number, rounds: number, log: (s: string) => void): Promise<ApplyRound[]> {
  const order: ApplyVariant[] = ['tollgate-2', 'endpoint-2', 'minimal-2', 'tollgate-1']
  let received = 0
  const receiver = createServer((req, res) => { req.resume(); req.on('end', () => { received++; res.writeHead(204).end() }) })
  await new Promise<void>(resolve => receiver.listen(0, '127.0.0.1', resolve))
  const endpointEnv = {
    PRODUCT_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`,
    PRODUCT_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 3).toString('base64')}`
  }
  const windowMs = Number(process.env.BENCH_APPLY_WINDOW ?? (QUICK ? 15 : 20)) * 1000
  const out: ApplyRound[] = []
  for (let round = 1; round <= rounds; round++) {
    const rotated = order.map((_, i) => order[(i + round - 1) % order.length]!)
    for (const variant of rotated) {
      await stack.reset()
      await stack.enqueue(mixedBacklog(events, n, `a${round}`))
      const [name, count] = variant.split('-') as ['tollgate' | 'endpoint' | 'minimal', string]
      const kind = name === 'minimal' ? 'minimal' : 'tollgate'
      const env = name === 'endpoint' ? endpointEnv : {}
      // The deliverer is up before the clock can start, so its start-up is not counted against the apply.
      const deliverer = name === 'endpoint' ? stack.startWorker('all', 9, 'dist', { ...env, WORKER_QUEUES: 'product-events' }) : null
      if (deliverer) await stack.queueReady('product-events', 'product-events-sweep')
      const workers = [...Array.from({ length: Number(count) }, (_, i) => stack.startWorker(kind, i + 1, 'dist', env)), ...(deliverer ? [deliverer] : [])]
      const received0 = received
      try {
        const deadline = Date.now() + (QUICK ? 120_000 : 300_000)
        let t0 = 0
        let done0 = 0
        let cpu0 = { redis: 0, postgres: new Map<number, number>(), workers: 0, emulator: 0 }
        let c = await stack.counts()
        const seenBackends = new Set<number>()
        for (;;) {
          if (Date.now() > deadline) throw new Error(`apply ${variant}: backlog not drained in time (${JSON.stringify(c)})\n${workers.map(w => w.logs.join('').slice(-2000)).join('\n')}`)
          throwIfExited(workers, `apply ${variant}`, 3000)
          c = await stack.counts()
          const cpu = await stack.serverCpu()
          for (const pid of cpu.backends) seenBackends.add(pid)
          if (!t0 && c.done > 0) {
            t0 = Date.now(); done0 = c.done
            cpu0 = { redis: cpu.redis, postgres: new Map(cpu.backends.map(pid => [pid, cpuSeconds(pid)])), workers: workers.reduce((a, w) => a + cpuSeconds(w.pid), 0), emulator: cpuSeconds(stack.emulator.pid) }
          }
          if (c.done >= n || (t0 && Date.now() - t0 >= windowMs)) break
          await sleep(50)
        }
        const seconds = (Date.now() - t0) / 1000
        const cpu = await stack.serverCpu()
        const pgDelta = [...seenBackends].reduce((a, pid) => a + Math.max(0, cpuSeconds(pid) - (cpu0.postgres.get(pid) ?? 0)), 0)
        const row: ApplyRound = {
          variant, round, events: n, finished: c.done, drained: c.done >= n, seconds, eventsPerSec: (c.done - done0) / seconds, failed: c.failed ?? 0,
          postgresCores: pgDelta / seconds, redisCores: (cpu.redis - cpu0.redis) / seconds,
          workerCores: (workers.reduce((a, w) => a + cpuSeconds(w.pid), 0) - cpu0.workers) / seconds,
          emulatorCores: (cpuSeconds(stack.emulator.pid) - cpu0.emulator) / seconds
        }
        if (kind === 'tollgate') {
          const rows = await stack.sql`select outcome, count(*)::int as n from stripe_events group by outcome`
          row.outcomes = Object.fromEntries(rows.map(r => [r.outcome, r.n]))
        }
        if (name === 'endpoint') {
          const [events] = await stack.sql`select count(*)::int as n from product_events`
          row.productEvents = { written: events!.n, delivered: received - received0 }
        }
        out.push(row)
        log(`apply r${round} ${variant}: ${Math.round(row.eventsPerSec)} ev/s over ${seconds.toFixed(1)} s (${row.finished}/${n} ${row.drained ? 'drained' : 'when the window closed'}), failed ${row.failed}, cores: postgres ${row.postgresCores.toFixed(2)} redis ${row.redisCores.toFixed(2)} workers ${row.workerCores.toFixed(2)} emulator ${row.emulatorCores.toFixed(2)}${row.outcomes ? ` ${JSON.stringify(row.outcomes)}` : ''}${row.productEvents ? ` product events ${JSON.stringify(row.productEvents)}` : ''}`)
      } finally {
        await Promise.all(workers.map(w => w.stop()))
      }
    }
  }
  await stack.reset()
  receiver.close()
  return out
}
