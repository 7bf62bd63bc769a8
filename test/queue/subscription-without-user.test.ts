import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { pino } from 'pino'
import { replayEvent } from '../../src/billing/use-cases/replay-event.js'
import { entitlements, stripeEvents, subscriptions } from '../../src/db/schema.js'
import { waitReady } from '../../src/queue/connections.js'
import { startWorkers } from '../../src/queue/workers.js'
import { waitFor } from '../helpers/env.js'
import { checkoutPaid } from '../helpers/stripe-emulator.js'
import { lifecycleEnv } from '../billing/use-cases/lifecycle-helpers.js'

t.test('a subscription naming no user is dead-lettered with a clear error, blocks no one, and applies once replayed after the fix', async t => {
  const { em, deps, prices, newEvents } = await lifecycleEnv(t)
  await waitReady(deps.redis)
  const queue = deps.queues.stripeEvents
  const workers = startWorkers(deps, ['stripe-events'], pino({ level: 'silent' }))
  t.teardown(() => workers.close())

  // A checkout made outside Tollgate: no client_reference_id, no metadata anywhere.
  const session = await deps.stripe.checkout.sessions.create({
    mode: 'subscription',
    line_items: [{ price: prices.pro!, quantity: 1 }],
    customer_email: 'orphan@example.test',
    success_url: 'http://app.example.test/ok',
    cancel_url: 'http://app.example.test/cancel'
  })
  const { subscription: orphanSub } = await em.control(`checkout/${session.id}/complete`, { outcome: 'paid' })
  await checkoutPaid(deps.stripe, em, 'u_other', 'starter', prices.starter!, 'other@example.test')
  for (const job of await newEvents()) await queue.add(job.event.type, job, { jobId: job.event.id })

  const created = (await deps.stripe.events.list({ type: 'customer.subscription.created', limit: 10 })).data
    .find(e => (e.data.object as { id: string }).id === orphanSub)!
  // Read the job only once it is failed: a copy fetched a moment earlier lacks failedReason.
  await waitFor(async () => await queue.getJobState(created.id) === 'failed', 'the orphan event in the failed set')
  const failed = (await queue.getJob(created.id))!
  t.match(failed.failedReason, new RegExp(`Subscription ${orphanSub} .*names no user.*metadata\\.user_id`))
  t.equal(failed.attemptsMade, 1, 'no retries: the same job would fail the same way')
  t.match((await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, created.id)))[0], { outcome: 'failed', error: /metadata\.user_id/ })

  const other = await waitFor(async () => (await deps.db.select().from(entitlements).where(eq(entitlements.userId, 'u_other')))[0], 'the other customer provisioned')
  t.match(other, { planId: 'starter', access: true }, 'the other customer was applied meanwhile')
  t.same(await deps.db.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, orphanSub)), [], 'nothing half-applied')

  // The cause is fixed in Stripe; the operator replays the dead-lettered event.
  await deps.stripe.subscriptions.update(orphanSub, { metadata: { user_id: 'u_late' } })
  t.match(await replayEvent(deps, created.id), { via: 'retried', outcome_before: 'failed' })
  const granted = await waitFor(async () => (await deps.db.select().from(entitlements).where(eq(entitlements.userId, 'u_late')))[0], 'entitlement granted on replay')
  t.match(granted, { planId: 'pro', access: true, stripeSubscriptionId: orphanSub })
  t.match((await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, created.id))), [{ outcome: 'applied', error: null, userId: 'u_late' }], 'recorded once, as applied')
  await waitFor(async () => await (await queue.getJob(created.id))?.isCompleted(), 'the replayed job completed')
  t.equal((await deps.db.select().from(subscriptions).where(and(eq(subscriptions.stripeSubscriptionId, orphanSub), eq(subscriptions.userId, 'u_late')))).length, 1)
})
