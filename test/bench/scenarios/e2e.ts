import http from 'node:http'
import { API_KEY } from '../../helpers/env.js'
import { copyEvent, mixedBacklog, sign, type StripeEvent } from '../lib/corpus.js'
import { QUICK, sleep } from '../lib/env.js'
import { percentile } from '../lib/load.js'
import type { Stack } from '../lib/stack.js'

export interface E2eResult {
  rate: number
  seconds: number
  offered: number
  non2xx: number
  errors: number
  probes: number
  visible: number
  /** Probes still not visible when their deadline passed (counted as beyond every percentile). */
  late: number
  deadlineMs: number
  p50: number
  p99: number
  max: number
  webhookP99: number
}

function stats (xs: number[]) {
  return { p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs) }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

function request (url: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * End to end at a fixed offered rate (open loop: requests leave on schedule whatever the answers
 * do). Every tenth event is a probe: the first event of a user subscribed in the emulator whom
 * Tollgate has never seen; the rest are mixed lifecycle events of other customers. For each probe,
 * from its webhook's 200 the user's entitlement is polled every 5 ms through the product API until
 * it shows access: that interval is the latency reported. The first WARMUP_SECONDS at the same rate
 * (mixed events, no probes) are not measured: they cover the processes' first requests (JIT, BullMQ
 * loading its scripts, first connections), which otherwise stall the first second by up to a second.
 */
const WARMUP_SECONDS = 2

export async function e2e (stack: Stack, events: StripeEvent[], probes: Array<{ userId: string, events: StripeEvent[] }>, log: (s: string) => void): Promise<E2eResult> {
  const rate = 500
  const seconds = QUICK ? 10 : 30
  const total = rate * seconds
  const warm = rate * WARMUP_SECONDS
  const probeEvery = 10
  if (probes.length < total / probeEvery) throw new Error(`e2e needs ${total / probeEvery} probe users, seeded ${probes.length}`)
  await stack.reset()
  const api = await stack.startApi()
  const workers = [stack.startWorker('tollgate', 1), stack.startWorker('tollgate', 2)]
  try {
    await sleep(3000)
    const filler = mixedBacklog(events, total, 'e')
    const plan: Array<{ event: StripeEvent, probe?: string }> = [
      ...mixedBacklog(events, warm, 'w').map(event => ({ event })),
      ...filler.map((event, i) => {
        if (i % probeEvery !== 0) return { event }
        const p = probes[i / probeEvery]!
        return { event: copyEvent(p.events[0]!, 'p'), probe: p.userId }
      })
    ]
    const signed = sign(plan.map(p => p.event))
    const webhook = `${api.url}/api/v1/webhook`
    const latencies: number[] = []
    const webhookTimes: number[] = []
    let non2xx = 0
    let errors = 0
    let late = 0
    const probeDeadlineMs = QUICK ? 30_000 : 60_000
    const pending: Promise<void>[] = []

    const probe = async (userId: string) => {
      const t200 = performance.now()
      const deadline = t200 + probeDeadlineMs
      while (performance.now() < deadline) {
        const res = await request(`${api.url}/api/v1/entitlements/${userId}`, 'GET', { authorization: `Bearer ${API_KEY}` })
        if (res.status === 200 && JSON.parse(res.body).access === true) { latencies.push(performance.now() - t200); return }
        // 5 ms resolution where the target lies; slower polling after that so that probes stuck
        // behind a backlog do not turn into a read benchmark.
        await sleep(performance.now() - t200 < 250 ? 5 : 100)
      }
      late++
    }
    const send = async (i: number) => {
      const t = performance.now()
      try {
        const res = await request(webhook, 'POST', { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signed[i]!.signature }, signed[i]!.body)
        if (i < warm) return
        webhookTimes.push(performance.now() - t)
        if (res.status < 200 || res.status > 299) { non2xx++; return }
        const userId = plan[i]!.probe
        if (userId) await probe(userId)
      } catch {
        if (i >= warm) errors++
      }
    }
    // Open loop: request i leaves at its time on the schedule, whatever the earlier answers do.
    const pace = async (from: number, to: number): Promise<number> => {
      const t0 = performance.now()
      let next = from
      while (next < to) {
        const due = Math.min(to, from + Math.floor((performance.now() - t0) * rate / 1000) + 1)
        while (next < due) pending.push(send(next++))
        await sleep(1)
      }
      return t0
    }
    await pace(0, warm)
    const start = await pace(warm, warm + total)
    const offeredSeconds = (performance.now() - start) / 1000
    await Promise.all(pending)
    const result: E2eResult = {
      rate: total / offeredSeconds, seconds: offeredSeconds, offered: total, non2xx, errors,
      probes: total / probeEvery, visible: latencies.length, late, deadlineMs: probeDeadlineMs,
      ...stats([...latencies, ...Array(late).fill(Infinity)]), webhookP99: percentile(webhookTimes, 99)
    }
    log(`e2e: ${total} events at ${result.rate.toFixed(0)}/s, non2xx ${non2xx}, errors ${errors}, ${result.visible}/${result.probes} probes visible (${late} not within ${probeDeadlineMs / 1000} s), p50 ${result.p50.toFixed(1)} ms p99 ${result.p99.toFixed(1)} ms max ${result.max.toFixed(1)} ms (webhook p99 ${result.webhookP99.toFixed(1)} ms)`)
    return result
  } finally {
    await Promise.all([api.stop(), ...workers.map(w => w.stop())])
    await stack.reset()
  }
}
