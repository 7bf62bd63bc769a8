import t from 'tap'
import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import { buildTestApp } from '../helpers/app.js'
import { makeEvent, signBody, waitFor } from '../helpers/env.js'
import { startWorkers } from '../../src/queue/workers.js'
import { stripeEvents } from '../../src/db/schema.js'

t.test('a worker consumes queued events and records each once in stripe_events', async t => {
  const { app, deps } = await buildTestApp(t)
  const workers = startWorkers(deps, ['stripe-events'], pino({ level: 'silent' }))
  t.teardown(() => workers.close())
  const event = makeEvent('some.unhandled_type')
  const body = JSON.stringify(event)
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/webhook', payload: body, headers: { 'content-type': 'application/json', 'stripe-signature': signBody(body) } })
    t.equal(res.statusCode, 200)
  }
  const rows = await waitFor(async () => {
    const r = await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, event.id))
    return r.length ? r : null
  }, 'event recorded')
  t.equal(rows.length, 1)
  t.equal(rows[0]!.type, 'some.unhandled_type')
  t.equal(rows[0]!.outcome, 'ignored')
  await waitFor(async () => (await deps.queues.stripeEvents.getJobCounts('completed')).completed === 1, 'job completed')
})
