import t, { type Test } from 'tap'
import { pino } from 'pino'
import type Stripe from 'stripe'
import { createDeps } from '../../src/deps.js'
import { buildApp } from '../../src/http/app.js'
import { budgetKey } from '../../src/stripe/budget.js'
import { buildBillingApp, type BillingTestApp } from '../helpers/billing.js'
import { API_KEY, waitFor } from '../helpers/env.js'

const SECOND_KEY = 'tg_test_key_second_0123456789'
type Answer = Awaited<ReturnType<BillingTestApp['call']>>

/**
 * Two api processes on one Redis, one Postgres and one Stripe: the first a billing test app, the
 * second built from the same configuration. `call(i, …)` sends through instance i.
 */
async function twoInstances (t: Test, env: Record<string, string>) {
  const first = await buildBillingApp(t, { API_KEYS: `${API_KEY},${SECOND_KEY}`, ...env })
  const deps = createDeps(first.config)
  // A producer connection fails fast while it connects, and the budget lets a request through when
  // Redis cannot answer: the second instance starts taking requests once its connection is up.
  await waitFor(() => deps.redis.status === 'ready', 'the second instance connected to Redis', 10_000)
  const second = await buildApp({ deps, loggerInstance: pino({ level: 'silent' }) })
  await second.ready()
  t.teardown(async () => { await second.close(); await deps.close() })
  const apps = [first.app, second]
  const call = (i: number, method: 'GET' | 'POST', url: string, body?: Record<string, unknown>, key = API_KEY) =>
    apps[i % 2]!.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body && { payload: body }) })
  /** Stripe requests the two instances made whose path passes `match`. */
  const stripeRequests = (match: RegExp) => {
    const seen: string[] = []
    for (const stripe of [first.deps.stripe, deps.stripe]) stripe.on('request', (e: Stripe.RequestEvent) => { if (match.test(e.path ?? '')) seen.push(e.path!) })
    return seen
  }
  return { ...first, call, stripeRequests }
}

function retryAfter (res: Answer): number {
  const value = Number(res.headers['retry-after'])
  return Number.isInteger(value) ? value : NaN
}

t.test('routes that call Stripe are limited per end user, not per API key; every api instance counts together', async t => {
  const { call } = await twoInstances(t, { RATE_LIMIT_USER_PER_MINUTE: '3' })
  const checkout = (i: number, user: string, key = API_KEY) => call(i, 'POST', '/api/v1/create-checkout', { plan_id: 'starter', user_id: user }, key)

  // One API key is the whole product: forty of its users check out in the same minute.
  const many = await Promise.all(Array.from({ length: 40 }, (_, i) => checkout(i, `rl_user_${i}`)))
  t.same([...new Set(many.map(r => r.statusCode))], [200], 'forty users of one key, forty checkouts')

  const mine = [await checkout(0, 'rl_abuser'), await checkout(1, 'rl_abuser'), await checkout(0, 'rl_abuser')]
  t.same(mine.map(r => r.statusCode), [200, 200, 200])
  const refused = await checkout(1, 'rl_abuser')
  t.equal(refused.statusCode, 429, 'the fourth within the minute, on the other instance, is refused')
  t.equal(refused.json().error, 'rate_limited')
  t.ok(retryAfter(refused) >= 1 && retryAfter(refused) <= 60, `Retry-After: ${refused.headers['retry-after']}`)
  t.equal((await checkout(0, 'rl_other')).statusCode, 200, 'another user of the same key is not held up')
  t.equal((await checkout(1, 'rl_abuser', SECOND_KEY)).statusCode, 200, 'the same user id under another key is another end user')
  t.equal((await call(0, 'POST', '/api/v1/billing-portal', { user_id: 'rl_abuser' })).statusCode, 200, 'each route counts on its own')
})

t.test('one budget of Stripe requests per second for every api process, and each refusal says when to come back', async t => {
  const { call, config, stripeRequests, redis } = await twoInstances(t, { STRIPE_BUDGET_WRITES_PER_SECOND: '4', STRIPE_BUDGET_READS_PER_SECOND: '4', RATE_LIMIT_USER_PER_MINUTE: '1000' }).then(async x => ({ ...x, redis: x.deps.redis }))
  const sessionsCreated = stripeRequests(/^\/v1\/checkout\/sessions$/)

  // A checkout may read twice and write twice (customer, session): a budget of 4 a second starts two at once.
  const started = Date.now()
  const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => call(i, 'POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: `budget_${i}` })))
  const elapsed = Date.now() - started
  const admitted = burst.filter(r => r.statusCode === 200).length
  const refused = burst.filter(r => r.statusCode === 429)
  t.ok(admitted >= 2, `${admitted} admitted at once`)
  t.ok(admitted <= 2 + Math.floor(elapsed * 4 / 1000 / 2), `no more than the budget allows in ${elapsed} ms (${admitted})`)
  t.equal(admitted + refused.length, 12, 'every other request refused')
  t.same([...new Set(refused.map(r => r.json().error))], ['stripe_busy'])
  t.ok(refused.every(r => retryAfter(r) >= 1), 'each with Retry-After')
  t.equal(sessionsCreated.length, admitted, 'a refused request made no Stripe call')
  t.ok(await redis.pttl(budgetKey(config.QUEUE_PREFIX)) > 0, 'the budget lives under the configured prefix, with an expiry')

  const later = await waitFor(async () => {
    const res = await call(1, 'POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: 'budget_0' })
    return res.statusCode === 200 && res
  }, 'the budget to refill')
  t.equal(later.statusCode, 200, 'once the budget refills, the request goes through')

  // A checkout-status read costs three reads: right after one, another session's read must wait.
  const sessions = [...burst, later].filter(r => r.statusCode === 200).map(r => r.json().session_id as string)
  await waitFor(async () => (await call(0, 'GET', `/api/v1/checkout/${sessions[0]}`)).statusCode === 200, 'a status read within the budget')
  const waiting = await call(1, 'GET', `/api/v1/checkout/${sessions[1]}`)
  t.equal(waiting.statusCode, 429, 'the read budget is shared too')
  t.equal(waiting.json().error, 'stripe_busy')
  t.ok(retryAfter(waiting) >= 1)
})

t.test('checkout-status reads Stripe at most once per session every few seconds, however often and wherever it is polled', async t => {
  const { call, control, stripeRequests } = await twoInstances(t, {})
  const created = await call(0, 'POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: 'poller' })
  const id = created.json().session_id as string
  const reads = stripeRequests(new RegExp(`^/v1/checkout/sessions/${id}$`))

  const started = Date.now()
  const concurrent = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i, 'GET', `/api/v1/checkout/${id}`)))
  const sequential: Answer[] = []
  for (let i = 0; i < 20; i++) sequential.push(await call(i, 'GET', `/api/v1/checkout/${id}`))
  const elapsed = Date.now() - started
  t.same([...new Set([...concurrent, ...sequential].map(r => r.statusCode))], [200])
  t.same([...new Set([...concurrent, ...sequential].map(r => r.body))], [JSON.stringify({ session_id: id, status: 'open', user_id: 'poller', plan_id: 'pro', provisioned: false })], 'every poll answers what the read found')
  t.ok(reads.length >= 1 && reads.length <= 1 + Math.floor(elapsed / 3000), `${reads.length} Stripe read(s) of the session for 50 polls in ${elapsed} ms`)

  await control(`checkout/${id}/complete`, { outcome: 'paid' })
  await waitFor(async () => (await call(1, 'GET', `/api/v1/checkout/${id}`)).json().provisioned, 'provisioned without a webhook')
  const before = reads.length
  for (let i = 0; i < 10; i++) t.match((await call(i, 'GET', `/api/v1/checkout/${id}`)).json(), { status: 'complete', provisioned: true })
  t.equal(reads.length, before, 'a provisioned session is answered from Postgres')

  const unknown = await Promise.all(Array.from({ length: 10 }, (_, i) => call(i, 'GET', '/api/v1/checkout/cs_test_nobody')))
  t.same(unknown.map(r => r.statusCode), Array(10).fill(404), 'an unknown session is 404 for every poll')
})

t.test("Stripe's own rate limit answers 429 with Retry-After, not 502", async t => {
  const { call, control } = await twoInstances(t, {})
  await control('fail-api', { status: 429, count: 10 })
  const res = await call(0, 'POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: 'stripe_limited' })
  await control('fail-api', { status: 429, count: 0 })
  t.equal(res.statusCode, 429)
  t.equal(res.json().error, 'stripe_busy')
  t.equal(res.headers['retry-after'], '1')
})
