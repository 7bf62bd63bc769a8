import { applyDepsOf } from '../../../src/queue/apply-ports.js'
import t from 'tap'
import { createApplyStripeEvents } from '../../../src/billing/use-cases/apply-stripe-event.js'
import { HANDLED_EVENT_TYPES } from '../../../src/billing/handled-event-types.js'
import { groupCommit } from '../../../src/queue/group-commit.js'
import type { StripeEventJob } from '../../../src/queue/policy.js'
import { checkoutPaid } from '../../helpers/stripe-emulator.js'
import { lifecycleEnv, permute, rng, snapshot, truncateAll } from './lifecycle-helpers.js'

const DAY = 86_400



/** Every ordering of `items` (n! of them: keep n small). */
function * permutations<I> (items: I[]): Generator<I[]> {
  if (items.length <= 1) { yield [...items]; return }
  for (let i = 0; i < items.length; i++) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i]!, ...rest]
  }
}

t.test('every order of the events of small lifecycles, applied one at a time, yields the rows of in-order delivery', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const handled = new Set<string>(HANDLED_EVENT_TYPES)
  /** The events Stripe emitted since the last call that Tollgate acts on and that concern this customer. */
  const eventsOf = async (customerId: string) => (await newEvents()).filter(j => handled.has(j.event.type) && (j.event.data.object as { customer?: string }).customer === customerId)
  const applyAll = async (jobs: StripeEventJob[]) => { for (const job of jobs) await apply(job) }

  /** Applies `before` in order, then every permutation of `jobs`, and compares each result with in-order delivery. */
  async function everyOrder (name: string, jobs: StripeEventJob[], before: StripeEventJob[] = []) {
    await truncateAll(deps)
    await applyAll([...before, ...jobs])
    const expected = await snapshot(deps)
    let orders = 0
    for (const order of permutations(jobs)) {
      await truncateAll(deps)
      await applyAll([...before, ...order])
      const got = await snapshot(deps)
      orders++
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        const first = Math.min(...jobs.map(j => j.event.created))
        t.same(got, expected, `${name}: ${order.map(j => `${j.event.type}@+${j.event.created - first}s`).join(', ')}`)
        return
      }
    }
    t.pass(`${name}: all ${orders} orders of ${jobs.length} events give the in-order rows`)
  }

  // A checkout: its three events share one second, so the guard re-reads Stripe for each.
  const cy = await checkoutPaid(deps.stripe, em, 'u_cy', 'starter', prices.starter!, 'cy@example.test')
  const checkout = await eventsOf(cy.customerId)
  t.same(checkout.map(j => j.event.type).sort(), ['checkout.session.completed', 'customer.subscription.created', 'invoice.paid'])
  await everyOrder('checkout', checkout)
  t.match((await snapshot(deps)).entitlements, [{ userId: 'u_cy', planId: 'starter', status: 'active', access: true }], 'the case ends subscribed')

  // Checkout, an upgrade a minute later and a cancellation at period end a minute after that: three
  // seconds of Stripe time, so snapshots are written when newer and dropped when older.
  const di = await checkoutPaid(deps.stripe, em, 'u_di', 'starter', prices.starter!, 'di@example.test')
  await em.control('clock/advance', { seconds: 60 })
  const item = (await deps.stripe.subscriptions.retrieve(di.subscriptionId)).items.data[0]!
  await deps.stripe.subscriptions.update(di.subscriptionId, { items: [{ id: item.id, price: prices.pro! }] })
  await em.control('clock/advance', { seconds: 60 })
  await deps.stripe.subscriptions.update(di.subscriptionId, { cancel_at_period_end: true })
  const changes = await eventsOf(di.customerId)
  t.equal(changes.length, 5)
  t.equal(new Set(changes.map(j => j.event.created)).size, 3, 'three distinct seconds')
  await everyOrder('checkout, upgrade, cancel at period end', changes)
  t.match((await snapshot(deps)).entitlements, [{ userId: 'u_di', planId: 'pro', status: 'active', cancelAtPeriodEnd: true }], 'the case ends upgraded, cancelling')

  // A renewal whose payment fails, from a customer already provisioned: past_due and one email.
  const ed = await checkoutPaid(deps.stripe, em, 'u_ed', 'pro', prices.pro!, 'ed@example.test')
  const edCheckout = await eventsOf(ed.customerId)
  await em.control(`customers/${ed.customerId}/fail-payments`, { fail: true })
  await em.control('clock/advance', { seconds: 31 * DAY })
  const renewal = await eventsOf(ed.customerId)
  t.same(renewal.map(j => j.event.type).sort(), ['customer.subscription.updated', 'customer.subscription.updated', 'invoice.payment_failed'])
  await everyOrder('failed renewal', renewal, edCheckout)
  t.match((await snapshot(deps)).entitlements, [{ userId: 'u_ed', status: 'past_due', access: true }], 'the case ends past_due')

  // A downgrade scheduled for the period end (a schedule taking the subscription over, then its
  // phases), then dropped (released): schedule events and the subscription's, in every order.
  const fy = await checkoutPaid(deps.stripe, em, 'u_fy', 'pro', prices.pro!, 'fy@example.test')
  const fyCheckout = await eventsOf(fy.customerId)
  const periodEnd = (await deps.stripe.subscriptions.retrieve(fy.subscriptionId)).items.data[0]!.current_period_end
  const schedule = await deps.stripe.subscriptionSchedules.create({ from_subscription: fy.subscriptionId })
  await deps.stripe.subscriptionSchedules.update(schedule.id, {
    end_behavior: 'release',
    phases: [
      { items: [{ price: prices.pro!, quantity: 1 }], start_date: schedule.phases[0]!.start_date, end_date: periodEnd },
      { items: [{ price: prices.starter!, quantity: 1 }], duration: { interval: 'month', interval_count: 1 } }
    ]
  })
  const scheduled = await eventsOf(fy.customerId)
  t.same(scheduled.map(j => j.event.type).sort(), ['customer.subscription.updated', 'subscription_schedule.created', 'subscription_schedule.updated'])
  await everyOrder('downgrade scheduled', scheduled, fyCheckout)
  t.match((await snapshot(deps)).entitlements, [{ userId: 'u_fy', planId: 'pro', pendingChange: { plan_id: 'starter', at: periodEnd } }], 'the case ends pro, starter pending')
  await deps.stripe.subscriptionSchedules.release(schedule.id)
  const released = await eventsOf(fy.customerId)
  t.same(released.map(j => j.event.type).sort(), ['customer.subscription.updated', 'subscription_schedule.released'])
  await everyOrder('pending downgrade released', released, [...fyCheckout, ...scheduled])
  t.match((await snapshot(deps)).entitlements, [{ userId: 'u_fy', planId: 'pro', pendingChange: null }], 'the case ends pro, nothing pending')
})

/**
 * Not every order: a sample. The story below has more than 25 events, far too many orderings to
 * enumerate, so six orders are drawn from a seeded generator (ORDER_SEED replays a failing run), each
 * with every event delivered once or, three times in ten, twice, and applied in three ways, two orders
 * each: one at a time; all at once through two batching workers; all at once, each alone.
 */
t.test('six sampled orders of three customers\' whole stories, with duplicates, sequential, concurrent or in batches, yield the rows of in-order delivery', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const applyDeps = applyDepsOf(deps)
  // Two workers, each committing the events it holds together.
  const workers = [groupCommit(createApplyStripeEvents(applyDeps)), groupCommit(createApplyStripeEvents(applyDeps))]

  // Cy schedules a downgrade for the period end, which takes effect while Ada's story moves time on.
  const cy = await checkoutPaid(deps.stripe, em, 'u_cy', 'pro', prices.pro!, 'cy@example.test')
  const cyEnd = (await deps.stripe.subscriptions.retrieve(cy.subscriptionId)).items.data[0]!.current_period_end
  const cySchedule = await deps.stripe.subscriptionSchedules.create({ from_subscription: cy.subscriptionId })
  await deps.stripe.subscriptionSchedules.update(cySchedule.id, {
    end_behavior: 'release',
    phases: [
      { items: [{ price: prices.pro!, quantity: 1 }], start_date: cySchedule.phases[0]!.start_date, end_date: cyEnd },
      { items: [{ price: prices.starter!, quantity: 1 }], duration: { interval: 'month', interval_count: 1 } }
    ]
  })
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
    { userId: 'u_bo', planId: 'starter', status: 'active', access: true },
    { userId: 'u_cy', planId: 'starter', status: 'active', access: true, pendingChange: null }
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
    const order = permute(jobs, random, 0.3)
    // Runs alternate: one event at a time; everything at once through two batching workers (their
    // batches race on the same rows and events); everything at once, each event alone.
    if (run % 3 === 0) for (const job of order) await apply(job)
    if (run % 3 === 1) await Promise.all(order.map((job, i) => workers[i % 2]!(job)))
    if (run % 3 === 2) await Promise.all(order.map(apply))
    t.same(await snapshot(deps), expected, `run ${run} (ORDER_SEED=${seed})`)
  }
})
