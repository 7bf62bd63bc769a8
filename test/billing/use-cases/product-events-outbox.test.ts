import { asc, eq, sql } from 'drizzle-orm'
import t from 'tap'
import { createApplyStripeEvents } from '../../../src/billing/use-cases/apply-stripe-event.js'
import { productDeliveries, productEndpoints, productEvents } from '../../../src/db/schema.js'
import { productDeliveryJobId } from '../../../src/queue/product-event-heads.js'
import { checkoutPaid } from '../../helpers/stripe-emulator.js'
import { lifecycleEnv, permute, rng, truncateAll } from './lifecycle-helpers.js'

const DAY = 86_400



t.test('exactly one product event per state change, under duplicated and reordered Stripe deliveries', async t => {
  const { em, deps, prices, newEvents, apply, applyDeps } = await lifecycleEnv(t)
  const applyMany = createApplyStripeEvents(applyDeps)
  await deps.db.insert(productEndpoints).values({ url: 'http://127.0.0.1:9/events', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], source: 'admin' })
  const eventsOf = async (userId: string) => await deps.db.select().from(productEvents).where(eq(productEvents.userId, userId)).orderBy(asc(productEvents.seq))

  // A whole life: checkout, upgrade, failed renewal, the end of the subscription.
  const { subscriptionId, customerId } = await checkoutPaid(deps.stripe, em, 'u_ada', 'starter', prices.starter!, 'ada@example.test')
  const sub = await deps.stripe.subscriptions.retrieve(subscriptionId)
  await deps.stripe.subscriptions.update(subscriptionId, { items: [{ id: sub.items.data[0]!.id, price: prices.pro! }], proration_behavior: 'create_prorations' })
  const early = await newEvents()
  for (const job of early) await apply(job)
  await em.control(`customers/${customerId}/fail-payments`, { fail: true })
  await em.control('clock/advance', { seconds: 31 * DAY })
  const renewal = await newEvents()
  for (const job of renewal) await apply(job)
  await em.control('clock/advance', { seconds: 20 * DAY })
  const end = await newEvents()
  for (const job of end) await apply(job)
  const jobs = [...early, ...renewal, ...end]

  const inOrder = await eventsOf('u_ada')
  t.same(inOrder.map(e => e.type), [
    'entitlement.updated', // granted, starter: customer.subscription.created comes first
    'checkout.completed',
    'entitlement.updated', // pro
    'entitlement.updated', 'subscription.past_due', // the failed renewal
    'entitlement.updated' // canceled
  ], 'in order: one event per change')
  t.same(inOrder.map(e => e.seq), [1, 2, 3, 4, 5, 6], 'numbered per user without gaps')
  t.same(inOrder.map(e => (e.payload.data as any).entitlement.plan_id), ['starter', 'starter', 'pro', 'pro', 'pro', 'pro'])
  t.same(inOrder.map(e => (e.payload.data as any).entitlement.status), ['active', 'active', 'active', 'past_due', 'past_due', 'canceled'])
  t.same((inOrder[1]!.payload.data as any).checkout, { session_id: (await deps.db.execute<{ session_id: string }>(sql`select session_id from checkout_sessions`))[0]!.session_id, plan_id: 'starter' })
  t.equal((await deps.db.select().from(productDeliveries)).length, 6, 'one pending delivery per event and enabled endpoint')

  const [endpoint] = await deps.db.select().from(productEndpoints)
  const headJob = async () => await deps.queues.productEvents.getJob(productDeliveryJobId({ endpointId: endpoint!.id, eventId: inOrder[0]!.id }))
  t.same((await headJob())?.data, { endpointId: endpoint!.id, eventId: inOrder[0]!.id }, 'after commit, the user\'s first event is queued for delivery')
  t.equal(await deps.queues.productEvents.count(), 1, 'and only that one: the later ones wait for it')
  // A worker that died between commit and that step: the Stripe event's retry is a duplicate, and queues it.
  await deps.queues.productEvents.obliterate({ force: true })
  t.equal(await headJob(), undefined)

  for (const job of jobs) await apply(job)
  t.equal((await eventsOf('u_ada')).length, 6, 'every Stripe event delivered again: no new product event')
  t.ok(await headJob(), 'a duplicate Stripe event queues the user\'s waiting product event again')

  const random = rng(17)
  for (let round = 0; round < 6; round++) {
    await truncateAll(deps)
    await deps.db.execute(sql`truncate product_events, product_deliveries`)
    const order = permute(jobs, random, 0.4)
    // Batches of random size: several of a user's events in one transaction too.
    for (let i = 0; i < order.length;) {
      const n = 1 + Math.floor(random() * 4)
      const batch = order.slice(i, i + n)
      const results = await applyMany(batch, batch.map(() => 2))
      for (const r of results) if (r && !r.ok) throw r.error
      i += n
    }
    const got = await eventsOf('u_ada')
    const name = `round ${round}`
    t.same(got.map(e => e.seq), got.map((_, i) => i + 1), `${name}: seqs without gaps`)
    t.equal(got.filter(e => e.type === 'checkout.completed').length, 1, `${name}: the checkout completed once`)
    const updates = got.filter(e => e.type === 'entitlement.updated').map(e => e.payload.data as any)
    for (let i = 1; i < updates.length; i++) t.same(updates[i].previous, updates[i - 1].entitlement, `${name}: each change starts where the last one ended`)
    t.notSame(updates.at(-1)?.entitlement, updates.at(-2)?.entitlement, `${name}: no change announced twice`)
    t.match(updates.at(-1)?.entitlement, { plan_id: 'pro', status: 'canceled', access: false }, `${name}: the last event tells the final state`)
    t.ok(got.filter(e => e.type === 'subscription.past_due').length <= 1, `${name}: past due announced at most once`)
  }
})
