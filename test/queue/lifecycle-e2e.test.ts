import t from 'tap'
import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import { startMailCatcher } from '../../scripts/stack/mail-catcher.js'
import { emailOutbox, entitlements, stripeEvents } from '../../src/db/schema.js'
import { startWorkers } from '../../src/queue/workers.js'
import { buildTestApp } from '../helpers/app.js'
import { WEBHOOK_SECRET, waitFor } from '../helpers/env.js'
import { freePort } from '../helpers/redis-server.js'
import { checkoutPaid, seedPlans, startStripeEmulator } from '../helpers/stripe-emulator.js'

t.test('Stripe\'s webhooks, duplicated and shuffled, reach the entitlement and the customer\'s inbox through the api, the queues and the workers', async t => {
  const mail = await startMailCatcher()
  t.teardown(() => mail.close())
  const port = await freePort()
  const em = await startStripeEmulator(t, { webhookUrl: `http://127.0.0.1:${port}/api/v1/webhook`, webhookSecrets: [WEBHOOK_SECRET] })
  const { app, deps } = await buildTestApp(t, { STRIPE_API_BASE: em.url, SMTP_URL: `smtp://127.0.0.1:${mail.smtpPort}` })
  await app.listen({ port, host: '127.0.0.1' })
  const workers = startWorkers(deps, ['stripe-events', 'email'], pino({ level: 'silent' }), { concurrency: 4 })
  t.teardown(() => workers.close())
  await em.control('chaos', { duplicate_rate: 0.5, shuffle_window_ms: 30, first_attempt_failure_rate: 0.2 })

  const prices = await seedPlans(deps.stripe, deps.catalogue)
  const { customerId } = await checkoutPaid(deps.stripe, em, 'u_e2e', 'pro', prices.pro!, 'e2e@example.test')
  const entitlement = () => deps.db.select().from(entitlements).where(eq(entitlements.userId, 'u_e2e')).then(r => r[0])
  const granted = await waitFor(async () => (await entitlement())?.access && entitlement(), 'access granted')
  t.match(granted, { planId: 'pro', status: 'active', access: true })

  await em.control(`customers/${customerId}/fail-payments`, { fail: true })
  await em.control('clock/advance', { seconds: 31 * 86_400 })
  const pastDue = await waitFor(async () => (await entitlement())?.status === 'past_due' && entitlement(), 'past_due applied')
  t.match(pastDue, { access: true, planId: 'pro' })
  const mails = await waitFor(async () => {
    const rows = await deps.db.select().from(emailOutbox)
    return rows.length > 0 && rows
  }, 'payment_failed email queued')
  t.match(mails, [{ template: 'payment_failed', to: 'e2e@example.test' }])
  const [sent] = await waitFor(() => mail.messages.length > 0 && mail.messages, 'email delivered')
  t.match(sent, { To: ['e2e@example.test'], Subject: 'Your payment did not go through' })
  await waitFor(async () => (await deps.db.select().from(emailOutbox))[0]?.status === 'sent', 'outbox row marked sent')
  await waitFor(async () => (await deps.queues.stripeEvents.getJobCounts('active', 'wait', 'delayed')).wait === 0, 'queue drained')
  const failed = await deps.db.select().from(stripeEvents).where(eq(stripeEvents.outcome, 'failed'))
  t.same(failed, [], 'no event failed')
})
