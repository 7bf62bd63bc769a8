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
  // Rates high enough that every run sees duplicates and failed first attempts (checked below).
  await em.control('chaos', { duplicate_rate: 0.5, shuffle_window_ms: 30, first_attempt_failure_rate: 0.5 })

  const prices = await seedPlans(deps.stripe, deps.catalogue)
  const { customerId } = await checkoutPaid(deps.stripe, em, 'u_e2e', 'pro', prices.pro!, 'e2e@example.test')
  const entitlement = () => deps.db.select().from(entitlements).where(eq(entitlements.userId, 'u_e2e')).then(r => r[0])
  const granted = await waitFor(async () => (await entitlement())?.access && entitlement(), 'access granted')
  t.match(granted, { planId: 'pro', status: 'active', access: true })

  await em.control(`customers/${customerId}/fail-payments`, { fail: true })
  await em.control('clock/advance', { seconds: 31 * 86_400 })
  const pastDue = await waitFor(async () => (await entitlement())?.status === 'past_due' && entitlement(), 'past_due applied')
  t.match(pastDue, { access: true, planId: 'pro' })

  // Settled: Stripe has nothing left to deliver, every job ran, every email went out.
  await waitFor(async () => em.emulator.ctx.deliverer.pending() === 0, 'every delivery made')
  await waitFor(async () => {
    const counts = await deps.queues.stripeEvents.getJobCounts('active', 'wait', 'delayed')
    const pending = await deps.db.select().from(emailOutbox).where(eq(emailOutbox.status, 'pending'))
    return counts.active + counts.wait + counts.delayed === 0 && pending.length === 0
  }, 'the queues drained')
  const deliveries = em.emulator.deliveries()
  const delivered = new Set(deliveries.filter(d => d.outcome === 'delivered').map(d => d.event_id))
  t.ok(deliveries.some(d => d.copy === 2 && d.outcome === 'delivered'), 'Stripe delivered some events twice')
  t.ok(deliveries.some(d => d.outcome === 'simulated_failure'), 'and failed some first attempts, retried')
  t.equal(delivered.size, em.emulator.ctx.store.newestFirst('events').length, 'every event Stripe emitted was delivered')

  const recorded = await deps.db.select().from(stripeEvents)
  t.same(recorded.map(r => r.eventId).sort(), [...delivered].sort(), 'each delivered event recorded once')
  t.same(recorded.filter(r => r.outcome === 'failed' || r.processedAt === null), [], 'every one processed, none failed')

  const outbox = await deps.db.select().from(emailOutbox)
  t.match(outbox, [{ template: 'payment_failed', to: 'e2e@example.test', status: 'sent' }], 'one email for the one failed payment')
  t.equal(outbox.length, 1, 'however often its event was delivered')
  t.equal(mail.messages.length, 1, 'and one message in the inbox')
  t.match(mail.messages[0], { To: ['e2e@example.test'], Subject: 'Your payment did not go through' })
})
