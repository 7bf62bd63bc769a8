import t from 'tap'
import { keepScheduled, scheduleEvery } from '../../src/queue/schedule.js'
import { createTestPrefix, testRedis, waitFor } from '../helpers/env.js'
import { Queue } from 'bullmq'

t.test("a scheduler whose next job Redis lost is upserted again, and an unchanged one keeps its next run", async t => {
  const prefix = createTestPrefix(t)
  const connection = testRedis()
  const queue = new Queue('sweeps', { connection, prefix })
  t.teardown(async () => { await queue.close(); connection.disconnect() })
  const upsert = () => scheduleEvery(queue, 'sweep', 3600, { name: 'sweep', data: {} })
  const next = async () => [...await queue.getWaiting(), ...await queue.getDelayed()].map(j => j.id)

  // Held while the test takes the job away, so that the loss can be seen before the next tick repairs it.
  let held = false
  let last: Promise<void> = Promise.resolve()
  const stop = await keepScheduled(() => (last = held ? Promise.resolve() : upsert()), 100, err => t.fail(err.message))
  t.teardown(stop)
  const [first] = await next()
  t.ok(first, 'the first run is queued')
  // An upsert of the unchanged scheduler a few times over keeps the same next job.
  await new Promise(resolve => setTimeout(resolve, 350))
  t.same(await next(), [first], 'upserts of an unchanged scheduler move nothing')

  // A failover loses the job (its hash and its place in the wait list), as a replica that never got it would.
  held = true
  await last
  await connection.del(`${prefix}:sweeps:${first}`)
  await connection.lrem(`${prefix}:sweeps:wait`, 0, first!)
  t.same(await queue.getJobCounts('wait', 'delayed'), { wait: 0, delayed: 0 }, 'the schedule has nothing queued')
  held = false
  const again = await waitFor(async () => (await next())[0], 'the scheduler to queue its next run again', 5000, 50)
  t.ok(again, `queued again: ${again}`)
})
