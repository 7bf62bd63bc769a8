import autocannon from 'autocannon'
import { usageLedgerBacklog } from '../../../src/queue/usage-ledger-drain.js'
import { API_KEY } from '../../helpers/env.js'
import { cpuSeconds, QUICK } from '../lib/env.js'
import type { LoadResult } from '../lib/load.js'
import { PREFIX, type Stack } from '../lib/stack.js'

export interface ConsumeRound extends LoadResult {
  target: 'api' | 'bare' | 'floor'
  round: number
  /** Entries waiting in the ledger streams at the start and the end of the round (api only). */
  backlogStart?: number
  backlogEnd?: number
  backlogMax?: number
  allowed?: number
  /** CPU time per request answered of the serving process, and (api only) of redis-server and of the draining worker. */
  cpuUsPerRequest: number
  redisUsPerRequest?: number
  drainUsPerRequest?: number
}

const DAY = 86_400
const perRequest = (cpu: number, requests: number) => cpu * 1e6 / Math.max(1, requests)

/** Users on pro (an overage plan: every consume counts), their period around now, written as the worker writes them. */
async function seedUsers (stack: Stack, n: number): Promise<string[]> {
  const users = Array.from({ length: n }, (_, i) => `bench_usage_u${i}`)
  const now = Math.floor(Date.now() / 1000)
  const [start, end] = [new Date((now - DAY) * 1000), new Date((now + 29 * DAY) * 1000)]
  const limits = { requests_per_month: 250_000, projects: 10, seats: 5 }
  for (const u of users) {
    await stack.sql`insert into subscriptions (stripe_subscription_id, user_id, stripe_customer_id, plan_id, status, access, current_period_start, current_period_end, stripe_time)
      values (${`sub_${u}`}, ${u}, ${`cus_${u}`}, 'pro', 'active', true, ${start}, ${end}, ${now}) on conflict do nothing`
    await stack.sql`insert into entitlements (user_id, plan_id, stripe_subscription_id, status, access, features, limits, current_period_end)
      values (${u}, 'pro', ${`sub_${u}`}, 'active', true, ${stack.sql.json({ api_access: true })}, ${stack.sql.json(limits)}, ${end}) on conflict do nothing`
  }
  return users
}

async function postBodies (url: string, bodies: string[], opts: { connections: number, duration: number, headers?: Record<string, string> }) {
  let next = 0
  let allowed = 0
  const r = await autocannon({
    url,
    connections: opts.connections,
    duration: opts.duration,
    timeout: 10,
    requests: [{
      method: 'POST',
      setupRequest: (req: any) => ({ ...req, body: bodies[next++ % bodies.length], headers: { 'content-type': 'application/json', ...opts.headers } }),
      onResponse: (_status: number, body: string) => { if (body.includes('"allowed":true')) allowed++ }
    }]
  } as autocannon.Options)
  return {
    result: {
      rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, p999: (r.latency as unknown as Record<string, number>).p99_9,
      errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, ok2xx: r['2xx'], total: r.requests.total, seconds: r.duration
    },
    allowed
  }
}

/**
 * Consume: `POST /api/v1/usage/consume` (one unit, no idempotency key) at 50 connections over 200
 * users on pro, against a bare Fastify POST answering an object of the same shape, rounds
 * interleaved. A Tollgate worker drains the ledger streams meanwhile; the backlog is sampled every
 * second: it must not grow over the round.
 */
export async function consume (stack: Stack, rounds: number, log: (s: string) => void): Promise<ConsumeRound[]> {
  const users = await seedUsers(stack, 200)
  const api = await stack.startApi()
  const base = await stack.startBaselines()
  const worker = stack.startWorker('tollgate', 1)
  const duration = Number(process.env.BENCH_CONSUME_SECONDS ?? (QUICK ? 5 : 60))
  const headers = { authorization: `Bearer ${API_KEY}` }
  const bodies = users.map(u => JSON.stringify({ user_id: u, metric: 'requests_per_month' }))
  const backlog = () => usageLedgerBacklog({ redis: stack.client, prefix: PREFIX })
  const out: ConsumeRound[] = []
  try {
    // Every user's counter exists before a round starts (a missing one is rebuilt from the ledger first).
    for (const u of users) {
      for (const url of [`${api.url}/api/v1/usage/consume`, `${base.url}/floor/usage/consume`]) {
        const res = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: u, metric: 'requests_per_month' }) })
        if (!res.ok || !(await res.json() as { allowed: boolean }).allowed) throw new Error(`warm-up consume of ${u} (${url}): ${res.status}`)
      }
    }
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 ? ['bare', 'floor', 'api'] as const : ['api', 'floor', 'bare'] as const
      for (const target of order) {
        if (target !== 'api') {
          const cpu0 = [cpuSeconds(base.pid), cpuSeconds(stack.redis.proc!.pid!)]
          const { result } = await postBodies(`${base.url}/${target}/usage/consume`, bodies, { connections: 50, duration })
          const [cpuUsPerRequest, redisUs] = [base.pid, stack.redis.proc!.pid!].map((pid, i) => perRequest(cpuSeconds(pid) - cpu0[i]!, result.total))
          out.push({ ...result, target, round, cpuUsPerRequest: cpuUsPerRequest!, ...(target === 'floor' && { redisUsPerRequest: redisUs }) })
          log(`consume r${round} ${target}: ${Math.round(result.rps)} req/s p50 ${result.p50} p99 ${result.p99} ms, µs CPU/req ${Math.round(cpuUsPerRequest!)}${target === 'floor' ? ` redis ${Math.round(redisUs!)}` : ''}`)
          continue
        }
        const backlogStart = await backlog()
        let backlogMax = backlogStart
        const sampler = setInterval(() => { backlog().then(n => { backlogMax = Math.max(backlogMax, n) }, () => {}) }, 1000)
        const cpu0 = [cpuSeconds(api.pid), cpuSeconds(stack.redis.proc!.pid!), cpuSeconds(worker.pid)]
        const { result, allowed } = await postBodies(`${api.url}/api/v1/usage/consume`, bodies, { connections: 50, duration, headers })
        const [apiUs, redisUs, drainUs] = [api.pid, stack.redis.proc!.pid!, worker.pid].map((pid, i) => perRequest(cpuSeconds(pid) - cpu0[i]!, result.total))
        clearInterval(sampler)
        const backlogEnd = await backlog()
        out.push({ ...result, target, round, backlogStart, backlogEnd, backlogMax, allowed, cpuUsPerRequest: apiUs!, redisUsPerRequest: redisUs, drainUsPerRequest: drainUs })
        log(`consume r${round} api: ${Math.round(result.rps)} req/s p50 ${result.p50} p99 ${result.p99} ms, non2xx ${result.non2xx}, ledger backlog ${backlogStart} → ${backlogEnd} (max ${backlogMax}), µs CPU/req: api ${Math.round(apiUs!)} redis ${Math.round(redisUs!)} drain ${Math.round(drainUs!)}`)
      }
    }
  } finally {
    await api.stop()
    await base.stop()
    await worker.stop()
  }
  return out
}
