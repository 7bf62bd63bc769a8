import t from 'tap'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { eq } from 'drizzle-orm'
import { createDeps } from '../../src/deps.js'
import { stripeEvents } from '../../src/db/schema.js'
import { toEventJob } from '../../src/stripe/webhook.js'
import { createTestDatabase, createTestPrefix, makeEvent, testConfig, waitFor, WEBHOOK_SECRET } from '../helpers/env.js'

t.test('a worker whose metrics port is taken still processes jobs', async t => {
  const taken = createServer()
  await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => taken.close())
  const port = (taken.address() as { port: number }).port
  const env = { DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: createTestPrefix(t) }
  const deps = createDeps(testConfig(env))
  t.teardown(() => deps.close())

  const config = testConfig(env)
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/all.ts'], {
    env: { ...process.env, ...env, REDIS_URL: config.REDIS_URL, STRIPE_SECRET_KEY: config.STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, API_KEYS: config.API_KEYS.join(','), ADMIN_TOKEN: config.ADMIN_TOKEN, APP_URL: config.APP_URL, SMTP_URL: config.SMTP_URL, MAIL_FROM: config.MAIL_FROM, METRICS_PORT: String(port), RECONCILE_EVERY_SECONDS: '0', RETENTION_EVERY_SECONDS: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  t.teardown(() => { child.kill('SIGKILL') })

  await waitFor(() => out.includes('metrics port in use'), 'the warning about the taken port', 30_000)
  const event = makeEvent('some.unhandled_type')
  await deps.queues.stripeEvents.add(event.type, toEventJob(event as never), { jobId: event.id })
  const [row] = await waitFor(async () => {
    const r = await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, event.id))
    return r.length ? r : null
  }, 'the job processed by the worker', 30_000)
  t.equal(row!.outcome, 'ignored')
  t.equal(child.exitCode, null, 'the worker is still running')
})
