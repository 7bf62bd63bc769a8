import t from 'tap'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import { checkoutSessions, entitlements, stripeEvents } from '../../src/db/schema.js'
import { RECONCILE_JOB, scheduleReconcile } from '../../src/queue/processors/reconcile.js'
import { startWorkers } from '../../src/queue/workers.js'
import { buildTestApp } from '../helpers/app.js'
import { WEBHOOK_SECRET, waitFor } from '../helpers/env.js'
import { checkoutPaid, seedPlans, startStripeEmulator } from '../helpers/stripe-emulator.js'

t.test('the reconciliation sweep applies events whose webhooks never arrived', async t => {
  const em = await startStripeEmulator(t)
  const { app, deps } = await buildTestApp(t, { STRIPE_API_BASE: em.url })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  // Stripe delivers to the running api, but every delivery is dropped: only a sweep can heal.
  em.emulator.ctx.staticEndpoints.push({ id: 'we_test', url: `http://127.0.0.1:${port}/api/v1/webhook`, secrets: [WEBHOOK_SECRET], enabled_events: ['*'], api_version: null })
  await em.control('chaos', { drop_rate: 1 })
  const workers = startWorkers(deps, ['stripe-events'], pino({ level: 'silent' }))
  t.teardown(() => workers.close())
  const queue = deps.queues.stripeEvents

  let sweeps = 0
  const sweep = async () => {
    const job = await queue.add(RECONCILE_JOB, {}, { jobId: `sweep-${++sweeps}` })
    return waitFor(async () => {
      const j = await queue.getJob(job.id!)
      if (j && await j.isFailed()) throw new Error(j.failedReason)
      return j && await j.isCompleted() ? j.returnvalue : null
    }, 'sweep finished')
  }
  const entitlementOf = async (userId: string) => (await deps.db.select().from(entitlements).where(eq(entitlements.userId, userId)))[0]

  const prices = await seedPlans(deps.stripe, deps.catalogue)
  const { sessionId, subscriptionId } = await checkoutPaid(deps.stripe, em, 'user_heal', 'pro', prices.pro!, 'heal@example.test')
  const completed = await waitFor(() => em.emulator.deliveries().find(d => d.type === 'checkout.session.completed'), 'delivery attempt recorded')
  t.equal(completed.outcome, 'dropped', 'Stripe never delivered checkout.session.completed')
  t.equal((await deps.db.select().from(stripeEvents)).length, 0, 'Tollgate has seen nothing')

  const first = await sweep()
  t.ok(first.queued.includes(completed.event_id), 'the sweep queued the lost checkout')
  t.equal(first.missing, first.queued.length)
  const granted = await waitFor(async () => { const e = await entitlementOf('user_heal'); return e?.access ? e : null }, 'access granted')
  t.equal(granted.planId, 'pro')
  // The checkout's own event may be applied after the subscription's: both were queued by the sweep.
  t.equal(await waitFor(async () => (await deps.db.select().from(checkoutSessions).where(eq(checkoutSessions.sessionId, sessionId)))[0]?.status, 'checkout complete'), 'complete')

  await deps.stripe.subscriptions.cancel(subscriptionId)
  const deleted = await waitFor(() => em.emulator.deliveries().find(d => d.type === 'customer.subscription.deleted'), 'deletion attempted')
  t.equal(deleted.outcome, 'dropped', 'Stripe never delivered customer.subscription.deleted')
  t.equal((await entitlementOf('user_heal'))?.access, true, 'so access would outlive the subscription')

  const second = await sweep()
  t.ok(second.queued.includes(deleted.event_id), 'the next sweep queued the lost deletion')
  t.notOk(second.queued.includes(completed.event_id), 'and not what is already recorded, despite the overlap')
  const revoked = await waitFor(async () => { const e = await entitlementOf('user_heal'); return e && !e.access ? e : null }, 'access revoked')
  t.equal(revoked.status, 'canceled')

  const row = await waitFor(async () => (await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, deleted.event_id)))[0], 'deletion recorded')
  t.equal(row.outcome, 'applied')
  t.same((await sweep()).queued, [], 'a sweep with nothing lost queues nothing')
})

t.test('workers keep one reconcile scheduler, removed when the interval is 0', async t => {
  const { deps } = await buildTestApp(t)
  const queue = deps.queues.stripeEvents
  await scheduleReconcile(queue, 3600)
  await scheduleReconcile(queue, 3600)
  const schedulers = await queue.getJobSchedulers()
  t.equal(schedulers.length, 1)
  t.equal(schedulers[0]!.every, 3_600_000)
  await scheduleReconcile(queue, 0)
  t.equal((await queue.getJobSchedulers()).length, 0)
})
