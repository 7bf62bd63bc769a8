import t from 'tap'
import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import { buildTestApp } from '../helpers/app.js'
import { makeEvent, signBody, waitFor } from '../helpers/env.js'
import { startWorkers } from '../../src/queue/workers.js'
import { toEventJob } from '../../src/stripe/webhook.js'
import { stripeEvents } from '../../src/db/schema.js'

t.test('a worker consumes queued events and records each once in stripe_events', async t => {
  const { app, deps } = await buildTestApp(t)
  const queue = deps.queues.stripeEvents
  const workers = startWorkers(deps, ['stripe-events'], pino({ level: 'silent' }))
  t.teardown(() => workers.close())
  const event = makeEvent('some.unhandled_type')
  const body = JSON.stringify(event)
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/webhook', payload: body, headers: { 'content-type': 'application/json', 'stripe-signature': signBody(body) } })
    t.equal(res.statusCode, 200)
  }
  // Read a job only once it is completed: a copy fetched a moment earlier lacks its return value.
  const completed = async (id: string) => {
    await waitFor(async () => await queue.getJobState(id) === 'completed', `job ${id} completed`)
    return (await queue.getJob(id))!
  }
  const job = await completed(event.id)
  t.equal(await queue.getJobCountByTypes('waiting', 'paused', 'prioritized', 'active', 'delayed', 'completed', 'failed'), 1, 'three deliveries, one job')
  t.match(job.returnvalue, { outcome: 'ignored' }, 'the worker ran it and found it not handled')
  const [row] = await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, event.id))
  t.match(row, { type: 'some.unhandled_type', outcome: 'ignored', created: event.created })
  t.ok(row!.processedAt, 'with the time it was processed')

  // Stripe redelivers after the completed job has left Redis: a second job for the same event.
  await queue.add(event.type, toEventJob(event as never), { jobId: `${event.id}-again` })
  const again = await completed(`${event.id}-again`)
  t.match(again.returnvalue, { outcome: 'duplicate' }, 'the second run finds the event claimed')
  const rows = await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, event.id))
  t.same(rows, [row], 'and leaves its record as it was')
})
