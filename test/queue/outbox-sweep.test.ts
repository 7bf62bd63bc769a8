import t, { type Test } from 'tap'
import { Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import { startMailCatcher } from '../../scripts/stack/mail-catcher.js'
import { createDeps } from '../../src/deps.js'
import { emailOutbox } from '../../src/db/schema.js'
import { waitReady } from '../../src/queue/connections.js'
import { OUTBOX_SWEEP_JOB, queueOutboxSend, scheduleOutboxSweep } from '../../src/queue/processors/outbox-sweep.js'
import { startWorkers } from '../../src/queue/workers.js'
import { createTestDatabase, createTestPrefix, testConfig, waitFor } from '../helpers/env.js'

/** A mail catcher, and deps on a database and prefix of their own sending to it. */
async function setup (t: Test) {
  const mail = await startMailCatcher()
  t.teardown(() => mail.close())
  const config = testConfig({ DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: createTestPrefix(t), SMTP_URL: `smtp://127.0.0.1:${mail.smtpPort}` })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  await waitReady(deps.redis)
  return { mail, config, deps, queue: deps.queues.email }
}

t.test('a pending row whose send job was lost is queued again by the sweep and sent once', async t => {
  const { mail, deps, queue } = await setup(t)
  const insert = async (eventId: string, createdAt: Date) => (await deps.db.insert(emailOutbox).values({
    eventId, template: 'payment_failed', userId: 'u1', to: 'ada@example.test', createdAt,
    data: { invoice_id: 'in_1', amount_due: 2900, currency: 'usd', attempt_count: 1, next_payment_attempt: null, hosted_invoice_url: null }
  }).returning())[0]!
  // Committed five minutes ago; its job never reached Redis (or Redis lost it).
  const lost = await insert('evt_lost', new Date(Date.now() - 5 * 60_000))
  // Committed just now: its own job is on the way and the sweep leaves it alone.
  const fresh = await insert('evt_fresh', new Date())

  let sweeps = 0
  const sweep = async () => {
    const job = await queue.add(OUTBOX_SWEEP_JOB, {}, { jobId: `sweep-${++sweeps}` })
    return await waitFor(async () => {
      const j = await queue.getJob(job.id!)
      if (j && await j.isFailed()) throw new Error(j.failedReason)
      return j && await j.isCompleted() ? j.returnvalue : null
    }, 'sweep finished')
  }
  const rowOf = async (id: number) => (await deps.db.select().from(emailOutbox).where(eq(emailOutbox.id, id)))[0]!

  const workers = startWorkers(deps, ['email'], pino({ level: 'silent' }))
  t.teardown(() => workers.close())
  // Two sweeps before the first send job can finish: the second finds the job already queued.
  const swept: number[] = (await Promise.all([sweep(), sweep()])).flatMap(r => r.queued)
  t.ok(swept.includes(lost.id), 'the lost row was queued')
  t.notOk(swept.includes(fresh.id), 'the young row was not')
  await waitFor(async () => (await rowOf(lost.id)).status === 'sent', 'lost row sent')
  t.same((await sweep()).queued, [], 'a sent row is not swept again')
  t.equal(mail.messages.length, 1, 'one message, despite the repeated sweeps')
  t.match(mail.messages[0], { To: ['ada@example.test'], Subject: 'Your payment did not go through' })
  t.match(await rowOf(lost.id), { status: 'sent', attempts: 1 })
  t.match(await rowOf(fresh.id), { status: 'pending', attempts: 0 })
  deps.mailer.close()
})

t.test('a database re-created under the same Redis: its rows reuse ids, and their email still goes out', async t => {
  const mail = await startMailCatcher()
  t.teardown(() => mail.close())
  const prefix = createTestPrefix(t)
  const run = async () => {
    // Each run a new database (ids start at 1 again), the same Redis prefix: the finished jobs of
    // the previous run are still there.
    const deps = createDeps(testConfig({ DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: prefix, SMTP_URL: `smtp://127.0.0.1:${mail.smtpPort}` }))
    await waitReady(deps.redis)
    const workers = startWorkers(deps, ['email'], pino({ level: 'silent' }))
    const [row] = await deps.db.insert(emailOutbox).values({ eventId: `evt_run_${mail.messages.length}`, template: 'payment_failed', userId: 'u1', to: 'ada@example.test', data: {} }).returning()
    await queueOutboxSend(deps.queues.email, { id: row!.id, key: row!.jobKey })
    await waitFor(async () => (await deps.db.select().from(emailOutbox).where(eq(emailOutbox.id, row!.id)))[0]!.status === 'sent', `run ${row!.eventId}: the row sent`, 10_000)
    await workers.close()
    deps.mailer.close()
    await deps.close()
    return row!.id
  }
  t.same([await run(), await run()], [1, 1], 'both runs wrote row 1')
  t.same(mail.messages.map(m => m.MessageID), ['<evt_run_0.payment_failed@example.test>', '<evt_run_1.payment_failed@example.test>'], 'two emails, each with its own Message-ID')
})

t.test('the sweep repairs a pending row whose job finished: completed (a restored database) is sent again, failed marks the row', async t => {
  const { mail, config, deps, queue } = await setup(t)
  const old = new Date(Date.now() - 5 * 60_000)
  const insert = async (eventId: string) => (await deps.db.insert(emailOutbox).values({ eventId, template: 'payment_failed', userId: 'u1', to: 'ada@example.test', createdAt: old, data: {} }).returning())[0]!
  const rowOf = async (id: number) => (await deps.db.select().from(emailOutbox).where(eq(emailOutbox.id, id)))[0]!
  const restored = await insert('evt_restored')
  const deadLetter = await insert('evt_dead_letter')
  // What Redis holds after the backup was taken: the first row's job completed (the row was marked
  // sent, in the database that was then replaced), the second row's job failed for good.
  const settle = async (ref: { id: number, jobKey: string }, finish: (job: Job, token: string) => Promise<unknown>) => {
    await queueOutboxSend(queue, { id: ref.id, key: ref.jobKey })
    const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null })
    const worker = new Worker(queue.name, null, { connection, prefix: config.QUEUE_PREFIX })
    try {
      await finish((await worker.getNextJob('t'))!, 't')
    } finally {
      await worker.close()
      connection.disconnect()
    }
  }
  await settle(restored, (job, token) => job.moveToCompleted({ outcome: 'sent' }, token, false))
  await settle(deadLetter, async (job, token) => {
    job.discard()
    await job.moveToFailed(new Error('job stalled more than allowable limit'), token, false)
  })

  const workers = startWorkers(deps, ['email'], pino({ level: 'silent' }))
  t.teardown(() => workers.close())
  const sweep = await queue.add(OUTBOX_SWEEP_JOB, {}, { jobId: 'sweep-1' })
  const result = await waitFor(async () => {
    const j = await queue.getJob(sweep.id!)
    return j && await j.isCompleted() ? j.returnvalue : null
  }, 'sweep finished')
  t.same(result, { queued: [], requeued: [restored.id], failed: [deadLetter.id] })
  await waitFor(async () => (await rowOf(restored.id)).status === 'sent', 'the restored row sent')
  t.same(mail.messages.map(m => m.MessageID), ['<evt_restored.payment_failed@example.test>'])
  t.match(await rowOf(deadLetter.id), { status: 'failed', lastError: 'send job failed: job stalled more than allowable limit', attempts: 0 })
  deps.mailer.close()
})

t.test('workers keep one outbox-sweep scheduler, every minute', async t => {
  const config = testConfig({ DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: createTestPrefix(t) })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  await waitReady(deps.redis)
  await scheduleOutboxSweep(deps.queues.email)
  await scheduleOutboxSweep(deps.queues.email)
  const schedulers = await deps.queues.email.getJobSchedulers()
  t.equal(schedulers.length, 1)
  t.match(schedulers[0], { key: OUTBOX_SWEEP_JOB, every: 60_000 })
})
