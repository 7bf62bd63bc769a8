import t from 'tap'
import { createServer } from 'node:net'
import { eq } from 'drizzle-orm'
import { emailOutbox, stripeEvents } from '../../src/db/schema.js'
import { toEventJob } from '../../src/stripe/webhook.js'
import { makeEvent, waitFor } from '../helpers/env.js'
import { freePort } from '../helpers/redis-server.js'
import { spawnWorker } from '../helpers/worker-process.js'

t.test('a worker whose metrics port is taken still processes jobs', async t => {
  const taken = createServer()
  await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => taken.close())
  const port = (taken.address() as { port: number }).port
  const worker = await spawnWorker(t, { METRICS_PORT: String(port) })

  await waitFor(() => worker.out.includes('metrics port in use'), 'the warning about the taken port', 30_000)
  const event = makeEvent('some.unhandled_type')
  await worker.deps.queues.stripeEvents.add(event.type, toEventJob(event as never), { jobId: event.id })
  const [row] = await waitFor(async () => {
    const r = await worker.deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, event.id))
    return r.length ? r : null
  }, 'the job processed by the worker', 30_000)
  t.equal(row!.outcome, 'ignored')
  t.equal(worker.child.exitCode, null, 'the worker is still running')
})

t.test("a worker's metrics show the age of the oldest email not sent yet", async t => {
  const port = await freePort()
  // This worker does not send email: the row stays pending for as long as the test needs.
  const { deps } = await spawnWorker(t, { METRICS_PORT: String(port), WORKER_QUEUES: 'prices' })
  const age = async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    const m = /^tollgate_email_oldest_pending_seconds (\S+)$/m.exec(text)
    return m ? Number(m[1]) : null
  }
  await waitFor(async () => await age().catch(() => null) !== null, 'the worker serving metrics', 30_000)
  t.equal(await age(), 0, 'nothing pending: 0')
  const [row] = await deps.db.insert(emailOutbox).values({ eventId: 'evt_stuck', template: 'payment_failed', to: 'ada@example.test', data: {}, createdAt: new Date(Date.now() - 600_000) }).returning()
  const seconds = await age()
  t.ok(seconds! >= 600 && seconds! < 660, `ten minutes pending, read as ${seconds} s`)
  await deps.db.update(emailOutbox).set({ status: 'sent' }).where(eq(emailOutbox.id, row!.id))
  t.equal(await age(), 0, 'sent: 0 again')
})
