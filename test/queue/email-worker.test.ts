import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { UnrecoverableError, type Job } from 'bullmq'
import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import { SMTPServer } from 'smtp-server'
import { startMailCatcher } from '../../scripts/stack/mail-catcher.js'
import { createDeps } from '../../src/deps.js'
import { emailOutbox } from '../../src/db/schema.js'
import { loggerOptions } from '../../src/logger.js'
import { createEmailProcessor } from '../../src/queue/processors/email.js'
import { outboxJobId, queueOutboxSend } from '../../src/queue/processors/outbox-sweep.js'
import { startWorkers } from '../../src/queue/workers.js'
import type { EmailJob } from '../../src/queue/policy.js'
import { createTestDatabase, createTestPrefix, exitAfterTests, testConfig, waitFor } from '../helpers/env.js'
import { freePort } from '../helpers/redis-server.js'

// In-process BullMQ workers: see exitAfterTests.
exitAfterTests(t)

const fakeJob = (outboxId: number, attemptsMade = 0) => ({ data: { outboxId }, attemptsMade, opts: { attempts: 20 } }) as unknown as Job<EmailJob>

async function setup (t: Test, smtpUrl: string) {
  const config = testConfig({ DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: createTestPrefix(t), SMTP_URL: smtpUrl })
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  const outbox = async (template = 'payment_failed') => (await deps.db.insert(emailOutbox).values({
    eventId: `evt_${Math.random()}`, template, userId: 'u1', to: 'ada@example.test',
    data: { invoice_id: 'in_1', amount_due: 2900, currency: 'usd', attempt_count: 1, next_payment_attempt: null, hosted_invoice_url: null }
  }).returning())[0]!
  const rowOf = async (id: number) => (await deps.db.select().from(emailOutbox).where(eq(emailOutbox.id, id)))[0]!
  return { deps, process: createEmailProcessor(deps), outbox, rowOf }
}

t.test('an outbox row is sent once over SMTP and marked sent', async t => {
  const mail = await startMailCatcher()
  t.teardown(() => mail.close())
  const { process, outbox, rowOf } = await setup(t, `smtp://127.0.0.1:${mail.smtpPort}`)
  const row = await outbox()
  t.same(await process(fakeJob(row.id)), { outcome: 'sent' })
  t.same(await process(fakeJob(row.id)), { outcome: 'skipped' }, 'a second run sends nothing')
  t.equal(mail.messages.length, 1)
  t.match(mail.messages[0], { To: ['ada@example.test'], Subject: 'Your payment did not go through', Text: /\$29\.00/, HTML: /<p>We could not collect \$29\.00/ })
  t.equal(mail.messages[0]!.MessageID, `<${row.eventId}.payment_failed@example.test>`, 'a Message-ID stable per event and template')
  t.match(await rowOf(row.id), { status: 'sent', attempts: 1, lastError: null })
  t.ok((await rowOf(row.id)).sentAt)
})

t.test("a job naming another database's row of the same id sends nothing", async t => {
  const mail = await startMailCatcher()
  t.teardown(() => mail.close())
  const { process, outbox, rowOf } = await setup(t, `smtp://127.0.0.1:${mail.smtpPort}`)
  const row = await outbox()
  const foreign = { data: { outboxId: row.id, key: randomUUID() }, attemptsMade: 0, opts: { attempts: 20 } } as unknown as Job<EmailJob>
  t.same(await process(foreign), { outcome: 'skipped' })
  t.equal(mail.messages.length, 0)
  t.match(await rowOf(row.id), { status: 'pending', attempts: 0 })
  t.same(await process({ ...foreign, data: { outboxId: row.id, key: row.jobKey } } as Job<EmailJob>), { outcome: 'sent' }, 'its own key sends it')
})

t.test('an SMTP outage retries; the last attempt gives up; a replay sends it', async t => {
  const port = await freePort()
  const { deps, outbox, rowOf } = await setup(t, `smtp://127.0.0.1:${port}`)
  const process = createEmailProcessor(deps)
  const row = await outbox()
  const err = await process(fakeJob(row.id, 0)).catch(e => e)
  t.ok(err instanceof Error && !(err instanceof UnrecoverableError), 'transient: retried with backoff')
  t.match(await rowOf(row.id), { status: 'pending', attempts: 1, lastError: /ECONNREFUSED|connect/i })
  await t.rejects(process(fakeJob(row.id, 19)))
  t.match(await rowOf(row.id), { status: 'failed', attempts: 2 })

  const mail = await startMailCatcher({ smtpPort: port })
  t.teardown(() => mail.close())
  t.same(await process(fakeJob(row.id, 0)), { outcome: 'sent' }, 'a dead-letter replay tries again')
  t.equal(mail.messages.length, 1)
  // The catcher started after deps, so it would close first and wait for the pooled connection.
  deps.mailer.close()
})

t.test('a row with an unknown template fails at once', async t => {
  const mail = await startMailCatcher()
  t.teardown(() => mail.close())
  const { process, outbox, rowOf } = await setup(t, `smtp://127.0.0.1:${mail.smtpPort}`)
  const row = await outbox('no_such_template')
  await t.rejects(process(fakeJob(row.id)), UnrecoverableError)
  t.match(await rowOf(row.id), { status: 'failed', lastError: /no_such_template/ })
  t.equal(mail.messages.length, 0)
})

t.test('an SMTP server rejecting the recipient by address: the address stays out of the log, the job and the outbox', async t => {
  // A real SMTP server that refuses the recipient the way Postfix does, quoting the address.
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo (address, _session, callback) {
      callback(Object.assign(new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown in virtual mailbox table`), { responseCode: 550 }))
    }
  })
  await new Promise<void>(resolve => smtp.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => smtp.close(() => resolve())))
  const { deps, outbox, rowOf } = await setup(t, `smtp://127.0.0.1:${(smtp.server.address() as { port: number }).port}`)
  const logs: string[] = []
  const log = pino(loggerOptions('info'), new Writable({ write (chunk, _enc, cb) { logs.push(chunk.toString()); cb() } }))
  const workers = startWorkers(deps, ['email'], log)
  t.teardown(() => workers.close())

  const row = await outbox()
  const ref = { id: row.id, key: row.jobKey }
  await queueOutboxSend(deps.queues.email, ref)
  // Read the job only once it is failed: a copy fetched a moment earlier lacks failedReason.
  await waitFor(async () => await deps.queues.email.getJobState(outboxJobId(ref)) === 'failed', 'the send job in the failed set')
  const job = await deps.queues.email.getJob(outboxJobId(ref))
  await waitFor(() => logs.some(l => l.includes('job failed')), 'the failure logged')

  t.match(job!.failedReason, /550 5\.1\.1 <\[redacted\]>: Recipient address rejected/, 'the SMTP reply is kept, the address is not')
  t.match(await rowOf(row.id), { status: 'failed', lastError: /550 5\.1\.1 <\[redacted\]>/ })
  t.match(logs.join(''), /550 5\.1\.1 <\[redacted\]>/, 'the log says why')
  t.notMatch(logs.join(''), 'ada@example.test', 'no recipient address in the log')
  t.notMatch(job!.failedReason, 'ada@example.test', 'nor in the job kept in Redis')
  t.notMatch((await rowOf(row.id)).lastError, 'ada@example.test', 'nor in the outbox error')
})

t.test('the error serializer redacts addresses in any logged error, its properties and cause included', async t => {
  const logs: string[] = []
  const log = pino(loggerOptions('info'), new Writable({ write (chunk, _enc, cb) { logs.push(chunk.toString()); cb() } }))
  const cause = new Error('mailbox ed@example.test is full')
  const err = Object.assign(new Error("Can't send mail - all recipients were rejected: 550 <cy@example.test>", { cause }), { rejected: ['cy@example.test'], response: '550 <cy@example.test>' })
  log.error({ err }, 'send failed')
  log.warn({ err: 'plain text naming bo@example.test' }, 'job failed')
  const text = logs.join('')
  t.notMatch(text, /[a-z]+@example\.test/, 'no address in message, stack, properties or cause')
  t.match(JSON.parse(logs[0]!).err, { type: 'Error', message: /rejected: 550 <\[redacted\]>/, rejected: ['[redacted]'], response: '550 <[redacted]>' })
})
