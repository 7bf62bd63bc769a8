import { mixedBacklog, sign, type StripeEvent } from '../lib/corpus.js'
import { cpuSeconds, QUICK } from '../lib/env.js'
import { postSigned, type LoadResult } from '../lib/load.js'
import type { Stack } from '../lib/stack.js'

export type IngestTarget = 'api' | 'bare' | 'naive'
export interface IngestRound extends LoadResult {
  target: IngestTarget
  connections: number
  round: number
  queued?: number
  exhausted: boolean
  /** CPU time of the serving process per request answered: steadier than req/s on a shared machine. */
  cpuUsPerRequest: number
}

/**
 * Ingest: the api's webhook route against a bare Fastify JSON route and a naive verify + Postgres
 * insert route, interleaved (the order rotates each round), at 50 and 4 connections. Each round
 * gets a fresh pool of distinct events signed just before it; no worker runs, so every 2xx must
 * have left exactly one job in Redis.
 */
export async function ingest (stack: Stack, events: StripeEvent[], rounds: number, log: (s: string) => void): Promise<IngestRound[]> {
  const api = await stack.startApi()
  const base = await stack.startBaselines()
  const urls: Record<IngestTarget, string> = {
    api: `${api.url}/api/v1/webhook`, bare: `${base.url}/bare/webhook`, naive: `${base.url}/naive/webhook`
  }
  const duration = QUICK ? 3 : 10
  const out: IngestRound[] = []
  const order: IngestTarget[] = ['bare', 'api', 'naive']
  try {
    // Warm-up: JIT and connection pools, not recorded.
    const warm = sign(mixedBacklog(events, 3000, 'w'))
    for (const t of order) await postSigned(urls[t], warm, { connections: 10, amount: 1000 })
    for (let round = 1; round <= rounds; round++) {
      for (const connections of [50, 4]) {
        // Sized above the fastest api and naive rates seen on this machine (about 9,000/s at either
        // connection count), so no event repeats within their rounds; the bare route may run through
        // it and start again (it only parses).
        const size = 12_000 * duration
        const pool = sign(mixedBacklog(events, size, `i${round}c${connections}`))
        const rotated = order.map((_, i) => order[(i + round) % order.length]!)
        for (const target of rotated) {
          await stack.reset()
          const pid = target === 'api' ? api.pid : base.pid
          const cpu0 = cpuSeconds(pid)
          const r = await postSigned(urls[target], pool, { connections, duration })
          const row: IngestRound = { ...r, target, connections, round, cpuUsPerRequest: (cpuSeconds(pid) - cpu0) * 1e6 / Math.max(1, r.total) }
          if (target === 'api') row.queued = (await stack.counts()).total
          out.push(row)
          log(`ingest r${round} c${connections} ${target}: ${Math.round(r.rps)} req/s p50 ${r.p50} p99 ${r.p99} p99.9 ${r.p999} ms, errors ${r.errors}, non2xx ${r.non2xx}, 2xx ${r.ok2xx}, ${Math.round(row.cpuUsPerRequest)} µs CPU/req${row.queued !== undefined ? `, queued ${row.queued}` : ''}${r.exhausted ? ' (POOL EXHAUSTED)' : ''}`)
        }
      }
    }
  } finally {
    await api.stop()
    await base.stop()
    await stack.reset()
  }
  return out
}
