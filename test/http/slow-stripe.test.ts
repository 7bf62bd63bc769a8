import t from 'tap'
import { entitlements } from '../../src/db/schema.js'
import { buildBillingApp } from '../helpers/billing.js'
import { waitFor } from '../helpers/env.js'

const STRIPE_LATENCY_MS = 5000
const READS = 40

// No Stripe call runs inside a transaction or under a lock, so a slow Stripe cannot take the pool's
// connections away from the entitlement reads that share it.
t.test('with Stripe answering 5 s late and a burst of checkouts waiting on it, entitlement reads (cache cold) answer from Postgres as fast as before', async t => {
  const { deps, call, control } = await buildBillingApp(t, { RATE_LIMIT_USER_PER_MINUTE: '10000', RATE_LIMIT_READ_PER_MINUTE: '100000' })
  await deps.db.insert(entitlements).values(Array.from({ length: READS * 2 }, (_, i) => ({
    userId: `reader_${i}`, planId: 'pro', status: 'active', access: true, features: { api: true }, limits: { requests: 1000 }
  })))
  const poolSize = 10
  // The plan's price is cached, as in a running deployment: every checkout goes straight to its customer.
  t.equal((await call('POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: 'warm_up' })).statusCode, 200)

  /** Reads of users nobody read before (so the cache is cold): each one's time in ms. */
  const reads = async (from: number) => {
    const times: number[] = []
    for (let i = from; i < from + READS; i++) {
      const started = performance.now()
      const res = await call('GET', `/api/v1/entitlements/reader_${i}`)
      times.push(performance.now() - started)
      t.equal(res.json().access, true)
    }
    return times.sort((a, b) => a - b)
  }
  const before = await reads(0)

  await control('latency', { ms: STRIPE_LATENCY_MS })
  const burst = Array.from({ length: poolSize * 3 }, (_, i) => call('POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: `burst_${i}`, email: `burst${i}@example.test` }))
  await waitFor(async () => (await (await fetch(`${deps.config.STRIPE_API_BASE}/_emulator/latency`)).json()).waiting >= poolSize, 'checkouts waiting on Stripe')
  const during = await reads(READS)
  const waitingAfter = (await (await fetch(`${deps.config.STRIPE_API_BASE}/_emulator/latency`)).json()).waiting
  await control('latency', { ms: 0 })

  t.ok(waitingAfter > 0, `the checkouts were still waiting on Stripe when the reads ended (${waitingAfter})`)
  const p = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!
  t.ok(p(during, 1) < 1000, `every read answered in well under Stripe's delay (slowest ${p(during, 1).toFixed(1)} ms)`)
  t.ok(p(during, 0.5) < p(before, 0.5) * 5 + 50, `median ${p(during, 0.5).toFixed(1)} ms against ${p(before, 0.5).toFixed(1)} ms before the burst`)
  const answers = await Promise.all(burst)
  t.same([...new Set(answers.map(a => a.statusCode))], [200], 'and the checkouts all succeed once Stripe answers')
})
