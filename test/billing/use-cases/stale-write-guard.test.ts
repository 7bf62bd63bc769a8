import { applyDepsOf } from '../../../src/queue/apply-ports.js'
import t from 'tap'
import { eq } from 'drizzle-orm'
import { createApplyStripeEvents } from '../../../src/billing/use-cases/apply-stripe-event.js'
import { entitlements, stripeEvents, subscriptions } from '../../../src/db/schema.js'
import type { StripeEventJob } from '../../../src/queue/policy.js'
import { checkoutPaid } from '../../helpers/stripe-emulator.js'
import { lifecycleEnv } from './lifecycle-helpers.js'

const DAY = 86_400
const subId = (job: StripeEventJob) => String(job.event.data.object.id)

t.test('subscription events apply from their own snapshot when newer than the stored state; older ones change nothing; neither reads Stripe', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const { subscriptionId } = await checkoutPaid(deps.stripe, em, 'u_ada', 'starter', prices.starter!, 'ada@example.test')
  await em.control('clock/advance', { seconds: DAY })
  await deps.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true })
  const jobs = await newEvents()
  const created = jobs.find(j => j.event.type === 'customer.subscription.created')!
  const updated = jobs.filter(j => j.event.type === 'customer.subscription.updated').at(-1)!
  t.ok(updated.event.created > created.event.created, 'the update is a later second than the creation')

  // Stripe's API is down: whatever applies now applies from the events alone.
  await em.control('fail-api', { status: 500, count: 1_000_000 })
  t.match(await apply(updated), { outcome: 'applied', userId: 'u_ada' }, 'the newest event first, with nothing stored')
  for (const job of jobs.filter(j => j !== updated && j.event.type !== 'invoice.payment_failed')) {
    t.notMatch(await apply(job), { outcome: 'duplicate' }, `${job.event.type} applied`)
  }
  t.equal((await em.control('state')).fail_api.count, 1_000_000, 'no request reached Stripe')
  await em.control('fail-api', { count: 0 })

  const [row] = await deps.db.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, subscriptionId))
  t.match(row, { status: 'active', cancelAtPeriodEnd: true, userId: 'u_ada', planId: 'starter', stripeTime: updated.event.created },
    'the older creation event arrived late and did not undo the cancellation')
  t.match((await deps.db.select().from(entitlements).where(eq(entitlements.userId, 'u_ada')))[0], { access: true, cancelAtPeriodEnd: true })
})

t.test('two events of one subscription in the same second: the guard cannot order them, so the subscription is re-read from Stripe', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const { subscriptionId } = await checkoutPaid(deps.stripe, em, 'u_bo', 'starter', prices.starter!, 'bo@example.test')
  for (const job of await newEvents()) await apply(job)

  // Cancel at period end, then change one's mind, within one second of Stripe time.
  let pair: StripeEventJob[] = []
  for (let attempt = 0; attempt < 5 && pair.length === 0; attempt++) {
    await deps.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true })
    await deps.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: false })
    const updates = (await newEvents()).filter(j => j.event.type === 'customer.subscription.updated' && subId(j) === subscriptionId)
    if (updates.length === 2 && updates[0]!.event.created === updates[1]!.event.created) pair = updates
  }
  t.equal(pair.length, 2, 'two updates share a second')
  const [cancel, resume] = pair as [StripeEventJob, StripeEventJob]
  t.equal((cancel.event.data.object as { cancel_at_period_end: boolean }).cancel_at_period_end, true)

  // Delivered in the wrong order: the resume first, the cancel last.
  t.match(await apply(resume), { outcome: 'applied' })
  await em.control('fail-api', { status: 500, count: 1 })
  t.match(await apply(cancel), { outcome: 'applied' })
  t.equal((await em.control('state')).fail_api.count, 0, 'the tie was settled by a read from Stripe (answered 500 once, then retried)')
  const [row] = await deps.db.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, subscriptionId))
  t.equal(row!.cancelAtPeriodEnd, false, 'Stripe\'s current state, not the last event delivered')
})

t.test('a batch applies in one transaction; an event that cannot be applied fails alone and the others apply', async t => {
  const { em, deps, prices, newEvents } = await lifecycleEnv(t)
  const applyMany = createApplyStripeEvents(applyDepsOf(deps))
  await checkoutPaid(deps.stripe, em, 'u_cy', 'pro', prices.pro!, 'cy@example.test')
  await checkoutPaid(deps.stripe, em, 'u_di', 'starter', prices.starter!, 'di@example.test')
  const jobs = await newEvents()
  const created = jobs.find(j => j.event.type === 'customer.subscription.created')!
  const poison: StripeEventJob = {
    receivedAt: Date.now(),
    event: { ...created.event, id: 'evt_poison', type: 'customer.subscription.updated', data: { object: { id: 'sub_missing', object: 'subscription' } } }
  }
  const batch = [...jobs.slice(0, 3), poison, ...jobs.slice(3), jobs[0]!]

  const settled = await applyMany(batch)
  t.equal(settled.length, batch.length, 'one outcome per job, in order')
  t.match(settled[3], { ok: false, error: { message: /sub_missing/ } }, 'the event naming a subscription Stripe does not know fails')
  t.match(settled.at(-1), { ok: true, value: { outcome: 'duplicate' } }, 'the same event twice in a batch applies once')
  t.ok(settled.filter((_, i) => i !== 3 && i !== batch.length - 1).every(s => s?.ok && s.value.outcome !== 'duplicate'), 'every other event applied')
  t.match(await deps.db.select({ userId: entitlements.userId, planId: entitlements.planId, access: entitlements.access }).from(entitlements).orderBy(entitlements.userId),
    [{ userId: 'u_cy', planId: 'pro', access: true }, { userId: 'u_di', planId: 'starter', access: true }])
  t.same(await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, 'evt_poison')), [], 'no claim for the failed event')

  t.ok((await applyMany(jobs)).every(s => s?.ok && s.value.outcome === 'duplicate'), 'the whole batch again: all duplicates')
})
