import t from 'tap'
import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import type Stripe from 'stripe'
import { checkoutSessions, entitlements, stripeEvents } from '../../../src/db/schema.js'
import { startWorkers } from '../../../src/queue/workers.js'
import { toEventJob } from '../../../src/stripe/webhook.js'
import { buildTestApp } from '../../helpers/app.js'
import { ADMIN_TOKEN, waitFor } from '../../helpers/env.js'
import { checkoutPaid, seedPlans, startStripeEmulator } from '../../helpers/stripe-emulator.js'

t.test('a failed event is listed, replayed, and applied once', async t => {
  const em = await startStripeEmulator(t)
  const { app, deps } = await buildTestApp(t, { STRIPE_API_BASE: em.url })
  const workers = startWorkers(deps, ['stripe-events'], pino({ level: 'silent' }))
  t.teardown(() => workers.close())
  const admin = (method: 'GET' | 'POST', url: string) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })

  const prices = await seedPlans(deps.stripe, deps.catalogue)
  const { sessionId } = await checkoutPaid(deps.stripe, em, 'user_replay', 'pro', prices.pro!, 'replay@example.test')
  let completed: Stripe.Event | undefined
  for await (const e of deps.stripe.events.list({ type: 'checkout.session.completed' })) completed = e
  t.ok(completed, 'Stripe emitted checkout.session.completed')
  const eventId = completed!.id

  // Stripe answers 500 to the worker's first call and its SDK retries, one attempt allowed: the job dies.
  await em.control('fail-api', { status: 500, count: 3 })
  await deps.queues.stripeEvents.add(completed!.type, toEventJob(completed!), { jobId: eventId, attempts: 1 })

  const failed = await waitFor(async () => {
    const res = await admin('GET', '/admin/events?status=failed')
    return res.json().data.find((e: { event_id: string }) => e.event_id === eventId)
  }, 'the event listed as failed')
  t.equal(failed.type, 'checkout.session.completed')
  t.match(failed.error, /./, 'with the reason')
  t.notOk('payload' in failed, 'lists leave payloads out')
  // The row is recorded as the attempt fails; BullMQ moves the job to the failed set right after.
  await waitFor(async () => (await deps.queues.stripeEvents.getJobCounts('failed')).failed === 1, 'its job in the dead-letter queue')
  t.equal((await deps.queues.stripeEvents.getJobCounts('failed')).failed, 1, 'its job is in the dead-letter queue')
  t.equal((await admin('GET', '/admin/jobs/failed?queue=stripe-events')).json().data[0].job_id, eventId)
  t.equal((await deps.db.select().from(entitlements)).length, 0, 'nothing was granted')

  const replay = await admin('POST', `/admin/events/${eventId}/replay`)
  t.equal(replay.statusCode, 202)
  t.same(replay.json(), { event_id: eventId, job_id: eventId, via: 'retried', outcome_before: 'failed' })
  const granted = await waitFor(async () => {
    const [row] = await deps.db.select().from(entitlements).where(eq(entitlements.userId, 'user_replay'))
    return row?.access ? row : null
  }, 'entitlement granted by the replay')
  t.equal(granted.planId, 'pro')
  const [recorded] = await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, eventId))
  t.equal(recorded!.outcome, 'applied')
  t.equal(recorded!.error, null)
  t.equal((await deps.queues.stripeEvents.getJobCounts('failed')).failed, 0, 'the dead-letter queue is empty again')

  const again = await admin('POST', `/admin/events/${eventId}/replay`)
  t.equal(again.json().via, 'enqueued', 'an applied event replays from its stored payload')
  const job = await waitFor(async () => {
    const j = await deps.queues.stripeEvents.getJob(again.json().job_id)
    // returnvalue, not isCompleted(): a copy fetched just before completion would lack it.
    return j?.returnvalue ? j : null
  }, 'second replay done')
  t.equal(job.returnvalue.outcome, 'duplicate', 'the claim makes the second application a no-op')
  t.equal((await deps.db.select().from(checkoutSessions).where(eq(checkoutSessions.sessionId, sessionId))).length, 1)

  const applied = await admin('GET', '/admin/events?status=applied&type=checkout.session.completed')
  t.same(applied.json().data.map((e: { event_id: string }) => e.event_id), [eventId])
  t.equal((await admin('POST', '/admin/events/evt_nope/replay')).statusCode, 404)
})

t.test('the event list pages newest first', async t => {
  const { app, deps } = await buildTestApp(t)
  const base = Date.parse('2030-01-01T00:00:00Z')
  await deps.db.insert(stripeEvents).values(Array.from({ length: 5 }, (_, i) => ({
    eventId: `evt_page_${i}`, type: 'invoice.created', created: 1, receivedAt: new Date(base + i * 1000), outcome: 'ignored' as const, payload: {}
  })))
  const page = async (query: string) =>
    (await app.inject({ method: 'GET', url: `/admin/events?${query}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()
  const first = await page('limit=2')
  t.same(first.data.map((e: { event_id: string }) => e.event_id), ['evt_page_4', 'evt_page_3'])
  t.equal(first.has_more, true)
  const second = await page('limit=2&starting_after=evt_page_3')
  t.same(second.data.map((e: { event_id: string }) => e.event_id), ['evt_page_2', 'evt_page_1'])
  const last = await page('limit=2&starting_after=evt_page_1')
  t.same(last.data.map((e: { event_id: string }) => e.event_id), ['evt_page_0'])
  t.equal(last.has_more, false)
  t.equal((await page('status=failed')).data.length, 0)
})
