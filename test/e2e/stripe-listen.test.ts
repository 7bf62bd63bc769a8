import t from 'tap'
import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import { entitlements, stripeEvents } from '../../src/db/schema.js'
import { startWorkers } from '../../src/queue/workers.js'
import { buildTestApp } from '../helpers/app.js'
import { exitAfterTests, waitFor } from '../helpers/env.js'
import { freePort } from '../helpers/redis-server.js'
import { checkoutPaid, seedPlans, startStripeEmulator } from '../helpers/stripe-emulator.js'
import { NO_CLI, stripeCli } from '../emulator/stripe-cli.js'

// In-process BullMQ workers: see exitAfterTests.
exitAfterTests(t)

t.test('Tollgate accepts what `stripe listen` forwards, with STRIPE_WEBHOOK_SECRET set to the secret it prints', { skip: NO_CLI }, async t => {
  // The emulator has no webhook endpoint: every event reaches Tollgate through the CLI.
  const em = await startStripeEmulator(t)
  const cli = await stripeCli(t, em.url)
  const secret = (await cli.run(['listen', '--print-secret'])).out.trim()
  const port = await freePort()
  const { app, deps } = await buildTestApp(t, { STRIPE_API_BASE: em.url, STRIPE_WEBHOOK_SECRET: secret })
  await app.listen({ port, host: '127.0.0.1' })
  const workers = startWorkers(deps, ['stripe-events'], pino({ level: 'silent' }), { concurrency: 4 })
  t.teardown(() => workers.close())
  const listener = await cli.listen(['--all-snapshot', '--forward-to', `127.0.0.1:${port}/api/v1/webhook`])
  t.equal(listener.secret, secret)

  const prices = await seedPlans(deps.stripe, deps.catalogue)
  await checkoutPaid(deps.stripe, em, 'u_cli', 'pro', prices.pro!, 'cli@example.test')
  const granted = await waitFor(async () => (await deps.db.select().from(entitlements).where(eq(entitlements.userId, 'u_cli')))[0], 'access granted from forwarded events')
  t.match(granted, { planId: 'pro', status: 'active', access: true })

  // Every event the CLI forwarded was accepted (200, so the signature verified) and recorded.
  const { data: emitted } = await deps.stripe.events.list({ limit: 100 })
  const answers = await waitFor(() => {
    const responses = em.emulator.ctx.stripeCli.listeners()[0]?.responses ?? []
    return responses.length === emitted.length && responses
  }, 'the CLI to report every forward')
  t.same([...new Set(answers.map(r => r.status))], [200])
  const rows = await waitFor(async () => {
    const r = await deps.db.select().from(stripeEvents)
    return r.length === emitted.length && r
  }, 'a stripe_events row per forwarded event')
  t.same(new Set(rows.map(r => r.eventId)), new Set(emitted.map(e => e.id)))
  t.same(rows.filter(r => r.outcome === 'failed'), [], 'no event failed')
  t.ok(rows.some(r => r.type === 'checkout.session.completed' && r.outcome === 'applied'))
})
