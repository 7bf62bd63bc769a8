import t, { type Test } from 'tap'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import { entitlements, stripeEvents, subscriptions } from '../../../src/db/schema.js'
import { startWorkers } from '../../../src/queue/workers.js'
import { buildTestApp } from '../../helpers/app.js'
import { ADMIN_TOKEN, WEBHOOK_SECRET, waitFor } from '../../helpers/env.js'
import { checkoutPaid, seedPlans, startStripeEmulator } from '../../helpers/stripe-emulator.js'

/** The emulator delivering webhooks to a listening app, with a stripe-events worker applying them. */
async function startWithWebhooks (t: Test) {
  const em = await startStripeEmulator(t)
  const { app, deps } = await buildTestApp(t, { STRIPE_API_BASE: em.url })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  em.emulator.ctx.staticEndpoints.push({ id: 'we_test', url: `http://127.0.0.1:${port}/api/v1/webhook`, secrets: [WEBHOOK_SECRET], enabled_events: ['*'], api_version: null })
  const workers = startWorkers(deps, ['stripe-events'], pino({ level: 'silent' }))
  t.teardown(() => workers.close())
  return { em, app, deps }
}

t.test("a user's timeline tells their lifecycle in order, and sync repairs drifted state", async t => {
  const { em, app, deps } = await startWithWebhooks(t)
  const admin = (method: 'GET' | 'POST', url: string) => app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  const recorded = (type: string) => waitFor(async () => (await deps.db.select().from(stripeEvents).where(eq(stripeEvents.type, type))).find(e => e.processedAt), `${type} applied`)

  const prices = await seedPlans(deps.stripe, deps.catalogue)
  const { subscriptionId } = await checkoutPaid(deps.stripe, em, 'user_story', 'starter', prices.starter!, 'story@example.test')
  await recorded('checkout.session.completed')
  await em.control('clock/advance', { seconds: 2 })
  await deps.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true })
  await waitFor(async () => (await deps.db.select().from(subscriptions))[0]?.cancelAtPeriodEnd, 'cancel at period end applied')
  await em.control('clock/advance', { seconds: 2 })
  await deps.stripe.subscriptions.cancel(subscriptionId)
  await recorded('customer.subscription.deleted')

  const res = await admin('GET', '/admin/users/user_story/timeline')
  t.equal(res.statusCode, 200)
  const timeline = res.json()
  const events = timeline.entries.filter((e: { kind: string }) => e.kind === 'event')
  const types: string[] = events.map((e: { type: string }) => e.type)
  t.ok(types.indexOf('customer.subscription.created') < types.indexOf('customer.subscription.updated'), 'created before updated')
  t.ok(types.indexOf('checkout.session.completed') < types.indexOf('customer.subscription.updated'), 'checkout before the cancel request')
  t.equal(types.at(-1), 'customer.subscription.deleted', 'the story ends with the deletion')
  t.ok(types.includes('invoice.created'), "events of the user's customer that Tollgate ignored are part of the story")
  const times = timeline.entries.map((e: { at: string }) => Date.parse(e.at))
  t.same(times, [...times].sort((a, b) => a - b), 'oldest first')
  const update = events.find((e: { type: string }) => e.type === 'customer.subscription.updated')
  t.equal(update.outcome, 'applied')
  t.match(update.detail, { cancel_at_period_end: true })
  t.equal(update.summary, 'customer.subscription.updated: cancels at period end — applied')
  t.equal(events.at(-1).summary, 'customer.subscription.deleted: starter, canceled — applied')
  t.match(timeline.current, { entitlement: { access: false, status: 'canceled' }, subscriptions: [{ subscription_id: subscriptionId, status: 'canceled' }] })
  t.notMatch(res.body, /story@example\.test/, 'no email address in the timeline')

  // Someone broke the row by hand; sync re-reads Stripe and writes it back through the use case.
  await deps.db.update(entitlements).set({ access: true, status: 'active' }).where(eq(entitlements.userId, 'user_story'))
  const sync = await admin('POST', '/admin/users/user_story/sync')
  t.equal(sync.statusCode, 200)
  t.match(sync.json(), { user_id: 'user_story', subscriptions: [{ subscription_id: subscriptionId, status: 'canceled', outcome: 'applied' }] })
  const [ent] = await deps.db.select().from(entitlements).where(eq(entitlements.userId, 'user_story'))
  t.equal(ent!.access, false)
  t.equal(ent!.status, 'canceled')
  t.equal((await admin('POST', '/admin/users/nobody/sync')).statusCode, 404)
  t.equal((await admin('GET', '/admin/users/nobody/timeline')).statusCode, 404)
})

t.test("the timeline reads Stripe's clock, names what changed and puts each email after its event", async t => {
  const { em, app, deps } = await startWithWebhooks(t)
  const prices = await seedPlans(deps.stripe, deps.catalogue)
  const { subscriptionId, customerId } = await checkoutPaid(deps.stripe, em, 'user_clock', 'starter', prices.starter!, 'clock@example.test')
  const sub = await deps.stripe.subscriptions.retrieve(subscriptionId)
  await deps.stripe.subscriptions.update(subscriptionId, { items: [{ id: sub.items.data[0]!.id, price: prices.pro! }], proration_behavior: 'create_prorations' })
  await em.control(`customers/${customerId}/fail-payments`, { fail: true })
  // A month on the emulator's clock, none on the host's.
  await em.control('clock/advance', { seconds: 31 * 86_400 })
  // Until the renewal's events are applied (the entitlement alone may turn past_due earlier, from a
  // re-read of the subscription while applying the upgrade).
  const timeline = async () => (await app.inject({ method: 'GET', url: '/admin/users/user_clock/timeline', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()
  const { entries } = await waitFor(async () => {
    const answer = await timeline()
    const kinds = answer.entries.map((e: { kind: string, type: string | null, outcome: string }) => `${e.kind} ${e.type} ${e.outcome}`)
    return kinds.includes('email null pending') && kinds.filter((k: string) => k === 'event customer.subscription.updated applied').length >= 2 ? answer : null
  }, 'the renewal applied, its email written')
  const summaries: string[] = entries.map((e: { summary: string }) => e.summary)
  t.ok(summaries.some(s => /^customer\.subscription\.updated: plan starter → pro — applied$/.test(s)), 'the upgrade names both plans', { summaries })
  t.ok(summaries.some(s => /^customer\.subscription\.updated: .*status active → past_due.* — applied$/.test(s)), 'the failed renewal names the status change', { summaries })
  t.ok(summaries.some(s => /^invoice\.payment_failed: \$49\.00 due, open, attempt 1 — applied$/.test(s)), 'the failed invoice says what it asked for', { summaries })
  const emailAt = entries.findIndex((e: { kind: string }) => e.kind === 'email')
  const email = entries[emailAt]
  const cause = entries.find((e: { event_id: string, kind: string }) => e.kind === 'event' && e.event_id === email.event_id)
  t.match(email, { clock: 'stripe', at: cause.at, summary: 'email payment_failed (for invoice.payment_failed) — pending' }, "the email on its event's Stripe time")
  t.ok(entries.indexOf(cause) < emailAt, 'after the event that caused it')
  t.ok(Date.parse(email.at) - Date.parse(email.host_at) > 25 * 86_400_000, 'the host time beside it is about a month earlier: the host clock did not move')
  const times = entries.map((e: { at: string }) => Date.parse(e.at))
  t.same(times, [...times].sort((a, b) => a - b), 'one clock, oldest first')
})
