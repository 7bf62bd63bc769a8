import { mixedBacklog, sign, type StripeEvent } from '../lib/corpus.js'
import { QUICK, sleep } from '../lib/env.js'
import { postSigned } from '../lib/load.js'
import type { Stack } from '../lib/stack.js'

export interface BurstResult {
  events: number
  non2xx: number
  errors: number
  ingestSeconds: number
  rps: number
  p99: number
  drainSeconds: number
  drained: boolean
  /** Jobs finished when the wait ended. */
  done: number
  failed: number
}

/**
 * Burst: Stripe redelivering after an outage. N distinct signed events offered by autocannon at 50
 * connections as fast as it can, with the api and two workers running; drain time runs from the
 * first request until every job has finished.
 */
export async function burst (stack: Stack, events: StripeEvent[], log: (s: string) => void): Promise<BurstResult> {
  const n = QUICK ? 10_000 : 50_000
  await stack.reset()
  const api = await stack.startApi()
  const workers = [stack.startWorker('tollgate', 1), stack.startWorker('tollgate', 2)]
  try {
    await sleep(3000)
    const pool = sign(mixedBacklog(events, n, 'b'))
    const t0 = Date.now()
    const r = await postSigned(`${api.url}/api/v1/webhook`, pool, { connections: 50, amount: n })
    const ingestSeconds = (Date.now() - t0) / 1000
    // Waiting stops at twice the 60 s target: past that the backlog's size and rate tell the rest.
    const deadline = t0 + 120_000
    let c = await stack.counts()
    while (c.done < r.ok2xx && Date.now() < deadline) {
      await sleep(50)
      c = await stack.counts()
    }
    const drainSeconds = (Date.now() - t0) / 1000
    const drained = c.done >= r.ok2xx
    const result: BurstResult = { events: n, non2xx: r.non2xx, errors: r.errors + r.timeouts, ingestSeconds, rps: r.rps, p99: r.p99, drainSeconds, drained, done: c.done, failed: c.failed ?? 0 }
    log(`burst: ${n} events, ingest ${ingestSeconds.toFixed(1)} s (${Math.round(r.rps)} req/s, p99 ${r.p99} ms), non2xx ${r.non2xx}, errors ${result.errors}, ${drained ? 'drained' : `NOT drained (${c.done} done)`} after ${drainSeconds.toFixed(1)} s, failed jobs ${result.failed}`)
    return result
  } finally {
    await Promise.all([api.stop(), ...workers.map(w => w.stop())])
    await stack.reset()
  }
}
