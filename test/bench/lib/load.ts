import autocannon from 'autocannon'
import type { SignedRequest } from './corpus.js'

export interface LoadResult {
  rps: number
  p50: number
  p99: number
  p999: number
  errors: number
  timeouts: number
  non2xx: number
  ok2xx: number
  total: number
  seconds: number
}

function toResult (r: autocannon.Result): LoadResult {
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    p999: (r.latency as unknown as Record<string, number>).p99_9,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    ok2xx: r['2xx'],
    total: r.requests.total,
    seconds: r.duration
  }
}

/**
 * autocannon (programmatic API) POSTing one pre-signed body after another; each request takes the
 * next body, so no two requests in a round carry the same event (the pool is sized for the round).
 */
export async function postSigned (url: string, pool: SignedRequest[], opts: { connections: number, duration?: number, amount?: number }): Promise<LoadResult & { exhausted: boolean }> {
  let next = 0
  let exhausted = false
  const r = await autocannon({
    url,
    connections: opts.connections,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.duration }),
    timeout: 10,
    requests: [{
      method: 'POST',
      setupRequest: (req: any) => {
        if (next >= pool.length) exhausted = true
        const item = pool[next++ % pool.length]!
        return { ...req, body: item.body, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': item.signature } }
      }
    }]
  } as autocannon.Options)
  return { ...toResult(r), exhausted }
}

/** autocannon GETs, cycling through paths. */
export async function getPaths (base: string, paths: string[], opts: { connections: number, duration: number, headers?: Record<string, string> }): Promise<LoadResult> {
  let next = 0
  const r = await autocannon({
    url: base,
    connections: opts.connections,
    duration: opts.duration,
    timeout: 10,
    headers: opts.headers,
    requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: paths[next++ % paths.length] }) }]
  } as autocannon.Options)
  return toResult(r)
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** "median (min–max)" */
export function spread (xs: number[], digits = 0): string {
  const f = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`
}

export function percentile (xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]!
}
