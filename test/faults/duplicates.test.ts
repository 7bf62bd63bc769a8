import { Queue } from 'bullmq'
import t from 'tap'
import { testRedis, waitFor } from '../helpers/env.js'
import { emulatorEvents, pool, report, Sender, settle, shuffle, startFaultStack, subscribeCustomers, tally } from './kit.js'

// Fault 1: every event delivered 1–10 times, the copies at once, in shuffled order; then again after
// its job was removed from Redis, so only the Postgres claim stands between the copy and a second effect.

t.setTimeout(180_000)
const j = await startFaultStack(t)

t.test('duplicates, concurrent and after the job left Redis, make one effect each', async t => {
  const customers = await subscribeCustomers(j, 12, { tag: 'dup', failShare: 0.5 })
  await j.control('clock/advance', { seconds: 31 * 86_400 })
  const events = emulatorEvents(j)
  const sender = new Sender(`${j.api}/api/v1/webhook`)

  await pool(shuffle(events), 12, async event => {
    const copies = 1 + Math.floor(Math.random() * 10)
    await Promise.all(Array.from({ length: copies }, () => sender.deliver(event, { retry: true })))
  })
  await settle(j, sender.acked)

  const queue = new Queue('stripe-events', { connection: testRedis(j.redisUrl), prefix: j.prefix })
  t.teardown(async () => { await queue.close(); (await queue.client).disconnect() })
  // The completed jobs are what makes BullMQ drop a redelivery; without them the copy is queued and run.
  await queue.clean(0, 100_000, 'completed')
  t.equal((await queue.getJobCounts('completed')).completed, 0, 'completed jobs removed from Redis')
  const again = shuffle(events).slice(0, Math.ceil(events.length / 2))
  await pool(again, 12, async event => {
    await Promise.all(Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => sender.deliver(event, { retry: true })))
  })
  await waitFor(async () => {
    const c = await queue.getJobCounts('completed', 'wait', 'active', 'delayed', 'prioritized')
    return c.completed >= again.length && c.wait + c.active + c.delayed + c.prioritized === 0
  }, 'the redelivered jobs to run', 30_000, 100)
  await settle(j, sender.acked)

  report(t, await tally(j, sender, customers, { scenario: 'duplicates 1–10× concurrent, then re-sent after job removal' }))
})
