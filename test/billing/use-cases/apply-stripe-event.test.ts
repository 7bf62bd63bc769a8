import t from 'tap'
import { eq } from 'drizzle-orm'
import { entitlementsCacheKey } from '../../../src/billing/use-cases/read-entitlements.js'
import { checkoutSessions, customers, emailOutbox, entitlements, stripeEvents, subscriptions } from '../../../src/db/schema.js'
import { outboxJobId } from '../../../src/queue/processors/outbox-sweep.js'
import { checkoutPaid } from '../../helpers/stripe-emulator.js'
import { lifecycleEnv } from './lifecycle-helpers.js'

const DAY = 86_400
const secs = (d: Date | null) => (d ? d.getTime() / 1000 : null)

t.test('a subscription lives through checkout, upgrade, failed renewal, grace period and its end', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const applyNew = async () => {
    const jobs = await newEvents()
    const results = []
    for (const job of jobs) results.push({ type: job.event.type, ...(await apply(job)) })
    return results
  }
  const entitlementOf = async (userId: string) => (await deps.db.select().from(entitlements).where(eq(entitlements.userId, userId)))[0]

  const { sessionId, subscriptionId, customerId } = await checkoutPaid(deps.stripe, em, 'u_ada', 'starter', prices.starter!, 'ada@example.test')
  const first = await applyNew()
  t.match(first.find(r => r.type === 'checkout.session.completed'), { outcome: 'applied', userId: 'u_ada' })
  t.match(first.find(r => r.type === 'invoice.finalized'), { outcome: 'ignored' })
  let ent = await entitlementOf('u_ada')
  t.match(ent, { planId: 'starter', stripeSubscriptionId: subscriptionId, status: 'active', access: true, accessUntil: null, cancelAtPeriodEnd: false })
  t.same(ent!.features, deps.catalogue.byId('starter')!.features)
  t.same(ent!.limits, deps.catalogue.byId('starter')!.limits)
  t.match((await deps.db.select().from(customers))[0], { userId: 'u_ada', stripeCustomerId: customerId })
  t.match((await deps.db.select().from(checkoutSessions))[0], { sessionId, userId: 'u_ada', planId: 'starter', status: 'complete', stripeSubscriptionId: subscriptionId })

  t.same(await Promise.all((await newEvents()).map(apply)), [], 'nothing new')
  const again = await apply((await deps.db.select().from(stripeEvents).where(eq(stripeEvents.type, 'checkout.session.completed'))).map(r => ({ event: r.payload as any, receivedAt: 0 }))[0]!)
  t.same(again, { outcome: 'duplicate' }, 'a redelivery changes nothing')

  const sub = await deps.stripe.subscriptions.retrieve(subscriptionId)
  await deps.stripe.subscriptions.update(subscriptionId, { items: [{ id: sub.items.data[0]!.id, price: prices.pro! }], proration_behavior: 'create_prorations' })
  await applyNew()
  ent = await entitlementOf('u_ada')
  t.match(ent, { planId: 'pro', status: 'active', access: true })
  t.same(ent!.features, deps.catalogue.byId('pro')!.features, 'the upgrade unlocks the new plan\'s features')

  const cacheKey = entitlementsCacheKey(deps.config.QUEUE_PREFIX, 'u_ada')
  await deps.redis.set(cacheKey, JSON.stringify({ stale: true }))
  await em.control(`customers/${customerId}/fail-payments`, { fail: true })
  await em.control('clock/advance', { seconds: 31 * DAY })
  const renewal = await applyNew()
  t.ok(renewal.some(r => r.type === 'invoice.payment_failed' && r.outcome === 'applied'))
  t.equal(await deps.redis.get(cacheKey), null, 'the cached entitlement is dropped')
  ent = await entitlementOf('u_ada')
  const [row] = await deps.db.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, subscriptionId))
  const failed = await deps.stripe.invoices.retrieve((await deps.stripe.subscriptions.retrieve(subscriptionId)).latest_invoice as string)
  t.match(ent, { status: 'past_due', access: true })
  t.equal(secs(ent!.accessUntil), failed.status_transitions.finalized_at! + 3 * DAY, 'grace runs from the failed invoice')
  t.equal(secs(row!.currentPeriodStart), failed.period_end, 'the period moved on at renewal')
  let mails = await deps.db.select().from(emailOutbox)
  t.equal(mails.length, 1, 'one email for the failed attempt')
  t.match(mails[0], { template: 'payment_failed', to: 'ada@example.test', userId: 'u_ada', status: 'pending', data: { invoice_id: failed.id, attempt_count: 1 } })
  t.same((await deps.queues.email.getJob(outboxJobId({ id: mails[0]!.id, key: mails[0]!.jobKey })))?.data, { outboxId: mails[0]!.id, key: mails[0]!.jobKey }, 'a send job names the outbox row and its key')
  t.match((await deps.db.select().from(customers))[0], { email: 'ada@example.test' }, 'the address read from Stripe is kept')

  await em.control('clock/advance', { seconds: 20 * DAY })
  await applyNew()
  ent = await entitlementOf('u_ada')
  t.match(ent, { status: 'canceled', access: false, planId: 'pro' })
  t.ok(ent!.revokedAt, 'revoked when the subscription ended')
  mails = await deps.db.select().from(emailOutbox)
  t.same(mails.map(m => m.data.attempt_count), [1, 2, 3, 4], 'one email per failed attempt, retries included')
})

t.test('a cancellation at period end keeps access until the period ends, then revokes it', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const applyNew = async () => { for (const job of await newEvents()) await apply(job) }
  const { subscriptionId } = await checkoutPaid(deps.stripe, em, 'u_bo', 'pro', prices.pro!, 'bo@example.test')
  await deps.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true })
  await applyNew()
  const [ent] = await deps.db.select().from(entitlements)
  const sub = await deps.stripe.subscriptions.retrieve(subscriptionId)
  t.match(ent, { status: 'active', access: true, cancelAtPeriodEnd: true })
  t.equal(secs(ent!.accessUntil), sub.items.data[0]!.current_period_end)

  await em.control('clock/advance', { seconds: 32 * DAY })
  await applyNew()
  t.match((await deps.db.select().from(entitlements))[0], { status: 'canceled', access: false })
})

t.test('a resubscription after a cancellation is not undone by the old subscription\'s late events', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const first = await checkoutPaid(deps.stripe, em, 'u_cy', 'starter', prices.starter!, 'cy@example.test')
  await deps.stripe.subscriptions.cancel(first.subscriptionId)
  const oldEvents = await newEvents()
  const second = await checkoutPaid(deps.stripe, em, 'u_cy', 'pro', prices.pro!, 'cy@example.test')
  for (const job of await newEvents()) await apply(job)
  for (const job of oldEvents) await apply(job)
  t.match((await deps.db.select().from(entitlements))[0], { stripeSubscriptionId: second.subscriptionId, planId: 'pro', access: true, status: 'active' })
  t.equal((await deps.db.select().from(subscriptions)).length, 2)
})

t.test('events that are not the lifecycle\'s are recorded as ignored; price events queue a price refresh', async t => {
  const { deps, newEvents, apply } = await lifecycleEnv(t)
  await deps.stripe.prices.update((await deps.stripe.prices.list({ lookup_keys: ['pro_monthly'] })).data[0]!.id, { nickname: 'Pro' })
  const jobs = await newEvents()
  const results = await Promise.all(jobs.map(apply))
  // The meter that bills overage is Stripe's business alone.
  t.ok(results.every((r, i) => r.outcome === (jobs[i]!.event.type.startsWith('billing.meter.') ? 'ignored' : 'applied')), 'product.created, price.created, price.updated')
  const priceEvent = jobs.find(j => j.event.type === 'price.updated')!
  t.ok(await deps.queues.prices.getJob(`refresh-${priceEvent.event.id}`), 'a refresh job is queued')
  const other = await apply({ event: { ...priceEvent.event, id: 'evt_other', type: 'customer.created' }, receivedAt: Date.now() })
  t.same(other, { outcome: 'ignored', note: 'event type not handled' })
  t.match((await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, 'evt_other')))[0], { outcome: 'ignored', error: 'event type not handled' })
})
