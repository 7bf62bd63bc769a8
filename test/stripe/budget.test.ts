import t from 'tap'
import { Redis } from 'ioredis'
import { budgetKey, createStripeBudget, defaultBudgetPerSecond } from '../../src/stripe/budget.js'
import { createTestPrefix, REDIS_URL } from '../helpers/env.js'

t.test('the default budget stays below Stripe\'s limits: 25 a second in test mode, 100 in live mode', async t => {
  t.equal(defaultBudgetPerSecond('sk_test_abc'), 20)
  t.equal(defaultBudgetPerSecond('rk_test_abc'), 20)
  t.equal(defaultBudgetPerSecond('sk_live_abc'), 80)
  t.equal(defaultBudgetPerSecond('rk_live_abc'), 80)
})

t.test('reads and writes are two buckets taken together, atomically, by clients on different connections', async t => {
  const prefix = createTestPrefix(t)
  const clients = [new Redis(REDIS_URL), new Redis(REDIS_URL)]
  t.teardown(() => { for (const c of clients) c.disconnect() })
  const budgets = clients.map(redis => createStripeBudget({ redis, prefix, readsPerSecond: 10, writesPerSecond: 5 }))

  const started = Date.now()
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => budgets[i % 2]!.take({ reads: 1, writes: 1 })))
  const elapsed = Date.now() - started
  const taken = answers.filter(a => a.ok).length
  // Writes are the narrower bucket: five at once, plus what refills meanwhile.
  t.ok(taken >= 5 && taken <= 5 + Math.floor(elapsed * 5 / 1000), `${taken} of 40 taken in ${elapsed} ms`)
  const waits = answers.flatMap(a => (a.ok ? [] : [a.retryAfterMs]))
  t.ok(waits.every(ms => ms > 0 && ms <= 200), 'a refusal says how long until one write is back (1/5 s)')

  t.match(await budgets[0]!.take({ reads: 0, writes: 0 }), { ok: true }, 'nothing to take is always allowed')
  const readsOnly = await budgets[1]!.take({ reads: 3, writes: 0 })
  t.ok(readsOnly.ok, 'the read bucket is not held up by the empty write bucket')
  const tooMuch = await budgets[0]!.take({ reads: 8, writes: 0 })
  t.match(tooMuch, { ok: false }, 'but it is not bottomless either')
  t.equal(await clients[0]!.type(budgetKey(prefix)), 'hash', 'one key under the prefix (its hash tag keeps it on one Cluster slot)')
})

t.test('a cost larger than a second\'s budget still fits once the bucket is full', async t => {
  const prefix = createTestPrefix(t)
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const budget = createStripeBudget({ redis, prefix, readsPerSecond: 1, writesPerSecond: 1 })
  t.match(await budget.take({ reads: 3, writes: 0 }), { ok: true })
  const again = await budget.take({ reads: 3, writes: 0 })
  t.ok(!again.ok && again.retryAfterMs > 2000 && again.retryAfterMs <= 3000, `then waits for three seconds' refill: ${JSON.stringify(again)}`)
})
