import { API_KEY } from '../../helpers/env.js'
import { QUICK } from '../lib/env.js'
import { getPaths, type LoadResult } from '../lib/load.js'
import type { Stack } from '../lib/stack.js'

export interface ReadRound extends LoadResult { target: 'api' | 'bare', round: number }

/**
 * Reads: `GET /api/v1/entitlements/:user_id` with the bearer key, every user's entitlement in the
 * Redis cache (each is read once just before the round), against a bare Fastify GET answering an
 * object of the same shape. 50 connections, rounds interleaved.
 */
export async function reads (stack: Stack, users: string[], rounds: number, log: (s: string) => void): Promise<ReadRound[]> {
  const api = await stack.startApi()
  const base = await stack.startBaselines()
  const duration = QUICK ? 3 : 10
  const headers = { authorization: `Bearer ${API_KEY}` }
  const out: ReadRound[] = []
  const paths = (prefix: string) => users.map(u => `${prefix}/${u}`)
  try {
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 ? ['bare', 'api'] as const : ['api', 'bare'] as const
      for (const target of order) {
        if (target === 'api') {
          for (const u of users) {
            const res = await fetch(`${api.url}/api/v1/entitlements/${u}`, { headers })
            if (!res.ok) throw new Error(`warm-up read of ${u}: ${res.status} ${await res.text()}`)
          }
        }
        const r = target === 'api'
          ? await getPaths(api.url, paths('/api/v1/entitlements'), { connections: 50, duration, headers })
          : await getPaths(base.url, paths('/bare/entitlements'), { connections: 50, duration })
        out.push({ ...r, target, round })
        log(`reads r${round} ${target}: ${Math.round(r.rps)} req/s p50 ${r.p50} p99 ${r.p99} ms, errors ${r.errors}, non2xx ${r.non2xx}`)
      }
    }
  } finally {
    await api.stop()
    await base.stop()
  }
  return out
}
