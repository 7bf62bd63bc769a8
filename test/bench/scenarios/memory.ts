import { writeFileSync } from 'node:fs'
import http from 'node:http'
import { startMailCatcher } from '../../../scripts/stack/mail-catcher.js'
import { mixedBacklog, sign, type StripeEvent } from '../lib/corpus.js'
import { productionFlags, QUICK, rssMb, sleep, throwIfExited, type Proc, type Runtime } from '../lib/env.js'
import { median, postSigned } from '../lib/load.js'
import type { Stack } from '../lib/stack.js'

export interface LoadPeak { phase: string, seconds: number, rate: number, non2xx: number, errors: number, statuses?: Record<number, number>, api: number, workers: number[] }
export interface SoakSample { t: number, api: number, workers: number[] }
export interface SoakResult {
  minutes: number
  /** How long the sending took: more than `minutes` when this machine cannot keep the pace. */
  seconds: number
  warmupMinutes: number
  rate: number
  sent: number
  non2xx: number
  errors: number
  statuses: Record<number, number>
  samples: SoakSample[]
  /** Least-squares slope of RSS over the samples after the warm-up, MB per minute, per process. */
  slopes: { api: number, workers: number[] }
  drained: boolean
  failed: number
}
export interface MemoryResult {
  flags: { api: string[], worker: string[] }
  /** Spawn → /health/ready answering, ms, per run. */
  startup: Record<Runtime, number[]>
  /** RSS (MB) IDLE_SECONDS after each process was ready, per run. */
  idle: Record<Runtime, { api: number[], worker: number[] }>
  load: LoadPeak[]
  soak?: SoakResult
}

const IDLE_SECONDS = 10
/** Growth allowed after the warm-up: 0.5 MB/min is ≈ 17 bytes kept per event at 500 events/s. */
export const LEAK_SLOPE_MB_PER_MIN = 0.5

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

function post (url: string, body: Buffer, signature: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature } }, res => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Offers `rate` webhooks a second for `seconds` (open loop: each leaves on schedule whatever the
 * answers do), signing a second's worth of fresh event copies at a time so a long soak holds no
 * backlog of bodies in this process.
 */
async function paced (url: string, events: StripeEvent[], rate: number, seconds: number, tag: string) {
  let sent = 0; let non2xx = 0; let errors = 0
  const statuses: Record<number, number> = {}
  const inFlight = new Set<Promise<void>>()
  const t0 = performance.now()
  for (let s = 0; s < seconds; s++) {
    const batch = sign(mixedBacklog(events, rate, `${tag}${s}x`))
    let next = 0
    while (next < batch.length) {
      const due = Math.min(batch.length, Math.floor((performance.now() - t0 - s * 1000) * rate / 1000) + 1)
      while (next < due) {
        const r = batch[next++]!
        const p: Promise<void> = post(url, r.body, r.signature).then(code => { statuses[code] = (statuses[code] ?? 0) + 1; if (code < 200 || code > 299) non2xx++ }, () => { errors++ }).finally(() => inFlight.delete(p))
        inFlight.add(p)
        sent++
      }
      await sleep(1)
    }
    // The next second starts on the wall clock, not when this one's last request left.
    const wait = t0 + (s + 1) * 1000 - performance.now()
    if (wait > 0) await sleep(wait)
  }
  await Promise.all(inFlight)
  return { sent, non2xx, errors, statuses, seconds: (performance.now() - t0) / 1000 }
}

/** Samples the RSS of each process every `ms` until stopped; keeps the peak and every sample. */
function sampler (procs: Proc[], ms: number) {
  const t0 = Date.now()
  const peak = procs.map(() => 0)
  const samples: Array<{ t: number, rss: number[] }> = []
  const take = () => {
    const rss = procs.map(p => rssMb(p.pid))
    rss.forEach((r, i) => { peak[i] = Math.max(peak[i]!, r) })
    samples.push({ t: (Date.now() - t0) / 1000, rss })
  }
  take()
  const timer = setInterval(take, ms)
  return { peak, samples, stop: () => { clearInterval(timer); take() } }
}

/** Least-squares slope of y over x. */
function slope (xs: number[], ys: number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0; let den = 0
  for (let i = 0; i < n; i++) { num += (xs[i]! - mx) * (ys[i]! - my); den += (xs[i]! - mx) ** 2 }
  return den === 0 ? 0 : num / den
}

async function workersConsuming (stack: Stack, n: number, procs: Proc[]) {
  const deadline = Date.now() + 60_000
  while ((await stack.queue.getWorkersCount()) < n) {
    throwIfExited(procs, 'start-up')
    if (Date.now() > deadline) throw new Error('workers did not start consuming within 60 s')
    await sleep(50)
  }
}

async function drain (stack: Stack, ms: number) {
  const deadline = Date.now() + ms
  let c = await stack.counts()
  while (c.done < c.total && Date.now() < deadline) { await sleep(200); c = await stack.counts() }
  return { drained: c.done >= c.total, failed: c.failed ?? 0 }
}

/**
 * Memory of each service process, as RSS from /proc (the api and workers/all.ts, each one node
 * process with the flags of `npm start` / `npm run worker`):
 * 1. start-up and idle, the compiled dist/ against the TypeScript sources through tsx, interleaved;
 * 2. peaks at load: 500 events/s paced, then as fast as 50 connections offer them (the ingest
 *    benchmark's load), with two workers applying and sending mail to an SMTP catcher;
 * 3. a soak (BENCH_SOAK_MINUTES, 10 by default, 0 for none) at 500 events/s: a leak shows as a
 *    positive slope of RSS after the warm-up.
 */
export async function memory (stack: Stack, events: StripeEvent[], log: (s: string) => void): Promise<MemoryResult> {
  const mail = await startMailCatcher()
  const env = { SMTP_URL: `smtp://127.0.0.1:${mail.smtpPort}` }
  // The catcher keeps what it receives; this keeps the bench process's own memory flat.
  const forget = setInterval(() => { mail.messages.length = 0 }, 1000)
  const runs = QUICK ? 2 : 5
  const result: MemoryResult = {
    flags: { api: productionFlags('start'), worker: productionFlags('worker') },
    startup: { dist: [], tsx: [] },
    idle: { dist: { api: [], worker: [] }, tsx: { api: [], worker: [] } },
    load: []
  }
  try {
    await stack.reset()
    for (let run = 1; run <= runs; run++) {
      for (const runtime of (run % 2 ? ['dist', 'tsx'] : ['tsx', 'dist']) as Runtime[]) {
        const t0 = performance.now()
        const api = await stack.startApi(runtime)
        const startMs = performance.now() - t0
        const worker = stack.startWorker('all', 1, runtime, env)
        try {
          await workersConsuming(stack, 1, [worker])
          await sleep(IDLE_SECONDS * 1000)
          const [a, w] = [rssMb(api.pid), rssMb(worker.pid)]
          result.startup[runtime].push(startMs)
          result.idle[runtime].api.push(a)
          result.idle[runtime].worker.push(w)
          log(`memory idle r${run} ${runtime}: api ready in ${Math.round(startMs)} ms, RSS api ${a.toFixed(0)} MB, worker ${w.toFixed(0)} MB`)
        } finally {
          await Promise.all([api.stop(), worker.stop()])
          await stack.reset()
        }
      }
    }

    {
      const api = await stack.startApi()
      const workers = [stack.startWorker('all', 1, 'dist', env), stack.startWorker('all', 2, 'dist', env)]
      try {
        await workersConsuming(stack, 2, workers)
        const url = `${api.url}/api/v1/webhook`
        let s = sampler([api, ...workers], 250)
        const p = await paced(url, events, 500, QUICK ? 20 : 60, 'mp')
        await drain(stack, 60_000)
        s.stop()
        result.load.push({ phase: '500 events/s', seconds: p.seconds, rate: p.sent / p.seconds, non2xx: p.non2xx, errors: p.errors, statuses: p.statuses, api: s.peak[0]!, workers: s.peak.slice(1) })
        const duration = QUICK ? 5 : 10
        const pool = sign(mixedBacklog(events, 12_000 * duration, 'mc'))
        s = sampler([api, ...workers], 250)
        const r = await postSigned(url, pool, { connections: 50, duration })
        await drain(stack, 120_000)
        s.stop()
        throwIfExited([api, ...workers], 'the load')
        result.load.push({ phase: 'ingest, 50 connections', seconds: r.seconds, rate: r.rps, non2xx: r.non2xx, errors: r.errors + r.timeouts, api: s.peak[0]!, workers: s.peak.slice(1) })
        for (const l of result.load) log(`memory load ${l.phase}: ${Math.round(l.rate)} req/s for ${l.seconds.toFixed(0)} s, non2xx ${l.non2xx}${l.statuses ? ` ${JSON.stringify(l.statuses)}` : ''}, errors ${l.errors}; peak RSS api ${l.api.toFixed(0)} MB, workers ${l.workers.map(w => w.toFixed(0)).join(' / ')} MB`)
      } finally {
        await Promise.all([api.stop(), ...workers.map(w => w.stop())])
        await stack.reset()
      }
    }

    const minutes = Number(process.env.BENCH_SOAK_MINUTES ?? (QUICK ? 2 : 10))
    if (minutes > 0) {
      const warmupMinutes = Math.min(2, minutes / 4)
      const api = await stack.startApi()
      const workers = [stack.startWorker('all', 1, 'dist', env), stack.startWorker('all', 2, 'dist', env)]
      try {
        await workersConsuming(stack, 2, workers)
        const s = sampler([api, ...workers], 5000)
        const p = await paced(`${api.url}/api/v1/webhook`, events, 500, minutes * 60, 'ms')
        s.stop()
        const d = await drain(stack, 120_000)
        throwIfExited([api, ...workers], 'the soak')
        const samples = s.samples.map(x => ({ t: x.t, api: x.rss[0]!, workers: x.rss.slice(1) }))
        const after = samples.filter(x => x.t >= warmupMinutes * 60 && x.t <= p.seconds)
        const fit = (ys: number[]) => slope(after.map(x => x.t / 60), ys)
        result.soak = {
          minutes, seconds: p.seconds, warmupMinutes, rate: p.sent / p.seconds, sent: p.sent, non2xx: p.non2xx, errors: p.errors, statuses: p.statuses, samples,
          slopes: { api: fit(after.map(x => x.api)), workers: workers.map((_, i) => fit(after.map(x => x.workers[i]!))) },
          ...d
        }
        log(`memory soak: ${p.sent} events in ${(p.seconds / 60).toFixed(1)} min (${Math.round(result.soak.rate)}/s), answers ${JSON.stringify(p.statuses)}, errors ${p.errors}, ${d.drained ? 'drained' : 'NOT drained'}, failed ${d.failed}; RSS slope after ${warmupMinutes} min: api ${result.soak.slopes.api.toFixed(2)}, workers ${result.soak.slopes.workers.map(x => x.toFixed(2)).join(' / ')} MB/min`)
      } finally {
        await Promise.all([api.stop(), ...workers.map(w => w.stop())])
        await stack.reset()
      }
    }
  } finally {
    clearInterval(forget)
    await mail.close()
  }
  // Every sample, for a closer look than the report's summary (BENCH_MEMORY_JSON names the file).
  writeFileSync(process.env.BENCH_MEMORY_JSON ?? '/tmp/tollgate-bench-memory.json', JSON.stringify(result))
  log(`memory: median idle RSS dist api ${median(result.idle.dist.api).toFixed(0)} / worker ${median(result.idle.dist.worker).toFixed(0)} MB, tsx api ${median(result.idle.tsx.api).toFixed(0)} / worker ${median(result.idle.tsx.worker).toFixed(0)} MB; start-up dist ${median(result.startup.dist).toFixed(0)} ms, tsx ${median(result.startup.tsx).toFixed(0)} ms`)
  return result
}
