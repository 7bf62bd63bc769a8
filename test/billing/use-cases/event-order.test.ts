import { applyDepsOf } from '../../../src/queue/apply-ports.js'
import t from 'tap'
import { createApplyStripeEvents } from '../../../src/billing/use-cases/apply-stripe-event.js'
import { groupCommit } from '../../../src/queue/group-commit.js'
import type { StripeEventJob } from '../../../src/queue/policy.js'
import { checkoutPaid } from '../../helpers/stripe-emulator.js'
import { lifecycleEnv, snapshot, truncateAll } from './lifecycle-helpers.js'

const DAY = 86_400

/** Small seeded generator: a failing permutation can be replayed from the seed in the message. */
function rng (seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Every event once or twice (redeliveries), shuffled. */
function permute (jobs: StripeEventJob[], random: () => number): StripeEventJob[] {
  const out = jobs.flatMap(j => (random() < 0.3 ? [j, j] : [j]))
  for (let i = out.length - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [out[i], out[k]] = [out[k]!, out[i]!]
  }
  return out
}

t.test('any order of a customer\'s events, with duplicates, sequential, concurrent or in batches, yields the rows of in-order delivery', async t => {
  const { em, deps, config, prices, newEvents, apply } = await lifecycleEnv(t)
  const applyDeps = applyDepsOf(deps)
  // Two workers, each committing the events it holds together.
  const workers = [groupCommit(createApplyStripeEvents(applyDeps)), groupCommit(createApplyStripeEvents(applyDeps))]

  // Ada upgrades, misses a renewal, pays on the retry, then cancels at period end.
  const ada = await checkoutPaid(deps.stripe, em, 'u_ada', 'starter', prices.starter!, 'ada@example.test')
  const item = (await deps.stripe.subscriptions.retrieve(ada.subscriptionId)).items.data[0]!
  await deps.stripe.subscriptions.update(ada.subscriptionId, { items: [{ id: item.id, price: prices.pro! }] })
  await em.control(`customers/${ada.customerId}/fail-payments`, { fail: true })
  await em.control('clock/advance', { seconds: 31 * DAY })
  await em.control(`customers/${ada.customerId}/fail-payments`, { fail: false })
  await em.control('clock/advance', { seconds: 4 * DAY })
  await deps.stripe.subscriptions.update(ada.subscriptionId, { cancel_at_period_end: true })
  // Bo cancels at once and subscribes again to another plan.
  const bo = await checkoutPaid(deps.stripe, em, 'u_bo', 'pro', prices.pro!, 'bo@example.test')
  await deps.stripe.subscriptions.cancel(bo.subscriptionId)
  await checkoutPaid(deps.stripe, em, 'u_bo', 'starter', prices.starter!, 'bo@example.test')

  const jobs = await newEvents()
  t.ok(jobs.length > 25, `${jobs.length} events`)
  for (const job of jobs) await apply(job)
  const expected = await snapshot(deps)
  t.match(expected.entitlements, [
    { userId: 'u_ada', planId: 'pro', status: 'active', access: true, cancelAtPeriodEnd: true },
    { userId: 'u_bo', planId: 'starter', status: 'active', access: true }
  ], 'the in-order result is the story above')
  t.equal(expected.emails.length, 1, 'one failed attempt, one email')
  for (const row of expected.subscriptions) {
    const truth = await deps.stripe.subscriptions.retrieve(String(row.stripeSubscriptionId))
    t.match(row, { status: truth.status, cancelAtPeriodEnd: truth.cancel_at_period_end, priceId: truth.items.data[0]!.price.id },
      `${String(row.stripeSubscriptionId)} is what Stripe holds now`)
  }

  const seed = Number(process.env.ORDER_SEED ?? Date.now() % 1_000_000)
  const random = rng(seed)
  for (let run = 0; run < 6; run++) {
    await truncateAll(deps)
    const order = permute(jobs, random)
    // Runs alternate: one event at a time; everything at once through two batching workers (their
    // batches race on the same rows and events); everything at once, each event alone.
    if (run % 3 === 0) for (const job of order) await apply(job)
    if (run % 3 === 1) await Promise.all(order.map((job, i) => workers[i % 2]!(job)))
    if (run % 3 === 2) await Promise.all(order.map(apply))
    t.same(await snapshot(deps), expected, `run ${run} (ORDER_SEED=${seed})`)
  }
})
