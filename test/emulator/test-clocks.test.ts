import t from 'tap'
import Stripe from 'stripe'
import { DAY, seedCatalog, startEmulator, subscribe } from './helpers.js'
import { advanceClock, eventsOf, T0 } from './flows.js'

type Env = Awaited<ReturnType<typeof startEmulator>>

/** A customer on `clock` subscribed through a paid checkout. */
async function subscribeOnClock (env: Env, clockId: string, priceId: string) {
  const customer = await env.stripe.customers.create({ email: 'clock@example.com', test_clock: clockId })
  const session = await env.stripe.checkout.sessions.create({
    mode: 'subscription', customer: customer.id, line_items: [{ price: priceId, quantity: 1 }], success_url: 'https://example.com/ok'
  })
  const done = await env.control(`checkout/${session.id}/complete`, { outcome: 'paid' })
  return { customerId: customer.id, subscriptionId: done.subscription as string }
}

t.test('a test clock is created, listed, advanced (advancing, then ready) and deleted, with its events', async t => {
  const env = await startEmulator(t)
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0, name: 'annual renewal' })
  t.match(clock, { object: 'test_helpers.test_clock', frozen_time: T0, name: 'annual renewal', status: 'ready', livemode: false })
  t.equal(clock.deletes_after, clock.created + 7 * DAY)
  t.same((await env.stripe.testHelpers.testClocks.list()).data.map(c => c.id), [clock.id])

  const answer = await advanceClock(env.stripe, clock.id, T0 + DAY)
  t.same(answer.status_details, {}, 'ready: nothing left to do')
  t.equal((await advanceClock(env.stripe, clock.id, T0 + 2 * DAY)).frozen_time, T0 + 2 * DAY)

  const deleted = await env.stripe.testHelpers.testClocks.del(clock.id)
  t.same(deleted, { id: clock.id, object: 'test_helpers.test_clock', deleted: true })
  const missing = await env.stripe.testHelpers.testClocks.retrieve(clock.id).catch(e => e)
  t.equal(missing.statusCode, 404)
  const types = (await eventsOf(env.stripe, clock.id)).map(e => e.type)
  t.same(types, [
    'test_helpers.test_clock.created',
    'test_helpers.test_clock.advancing', 'test_helpers.test_clock.ready',
    'test_helpers.test_clock.advancing', 'test_helpers.test_clock.ready',
    'test_helpers.test_clock.deleted'
  ])
})

t.test('a second advance while the first runs is refused; times must move forward within two intervals', async t => {
  // The advance stays `advancing` for a minute unless the control route settles it.
  const env = await startEmulator(t, { testClockAdvanceMs: 60_000 })
  const { pro } = await seedCatalog(env.stripe)
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  await subscribeOnClock(env, clock.id, pro.id)
  const answer = await env.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: T0 + DAY })
  t.match(answer, { status: 'advancing', status_details: { advancing: { target_frozen_time: T0 + DAY } } })
  t.match(await env.stripe.testHelpers.testClocks.retrieve(clock.id), { status: 'advancing', frozen_time: T0 })
  const busy = await env.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: T0 + 2 * DAY }).catch(e => e)
  t.type(busy, Stripe.errors.StripeInvalidRequestError)
  t.match(busy.message, /already advancing/)
  await env.control('clock/advance', { seconds: 0 })
  const settled = await env.stripe.testHelpers.testClocks.retrieve(clock.id)
  t.match(settled, { status: 'ready', frozen_time: T0 + DAY }, 'the control route finishes the pending advance')
  const backwards = await env.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: settled.frozen_time }).catch(e => e)
  t.equal(backwards.statusCode, 400)
  t.equal(backwards.param, 'frozen_time')
  // A monthly subscription: two months at a time, not three.
  const tooFar = await env.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: settled.frozen_time + 93 * DAY }).catch(e => e)
  t.equal(tooFar.statusCode, 400)
  t.match(tooFar.message, /two intervals/)
})

t.test('objects of a customer on a clock live in its time; advancing one clock moves only its customers', async t => {
  const env = await startEmulator(t)
  const { pro } = await seedCatalog(env.stripe)
  const a = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const b = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 + 10 * DAY })
  const onA = await subscribeOnClock(env, a.id, pro.id)
  const onB = await subscribeOnClock(env, b.id, pro.id)
  const free = await subscribe(env, pro.id, 'account@example.com')

  const subA = await env.stripe.subscriptions.retrieve(onA.subscriptionId)
  t.equal(subA.test_clock, a.id)
  t.equal(subA.created, T0, 'created at the clock’s frozen time')
  t.equal((await env.stripe.customers.retrieve(onA.customerId) as Stripe.Customer).created, T0)
  t.equal((await env.stripe.subscriptions.retrieve(onB.subscriptionId)).start_date, T0 + 10 * DAY)
  t.ok(Math.abs((await env.stripe.subscriptions.retrieve(free.subscriptionId)).created - Date.now() / 1000) < 60, 'no clock: the account’s time')
  const createdEvents = await eventsOf(env.stripe, onA.subscriptionId)
  t.same(createdEvents.map(e => e.created), [T0], 'its events carry the clock’s time')

  const periodEnd = subA.items.data[0]!.current_period_end
  await advanceClock(env.stripe, a.id, periodEnd + DAY)
  const renewed = await env.stripe.subscriptions.retrieve(onA.subscriptionId)
  t.equal(renewed.items.data[0]!.current_period_start, periodEnd, 'clock A’s subscription renewed')
  const invoicesA = (await env.stripe.invoices.list({ subscription: onA.subscriptionId })).data
  t.equal(invoicesA.length, 2)
  t.equal(invoicesA[0]!.created, periodEnd, 'the renewal invoice is dated at the renewal moment')
  t.equal(invoicesA[0]!.test_clock, a.id)
  const updated = (await eventsOf(env.stripe, onA.subscriptionId)).filter(e => e.type === 'customer.subscription.updated')
  t.same(updated.map(e => e.created), [periodEnd])

  for (const other of [onB, free]) {
    const sub = await env.stripe.subscriptions.retrieve(other.subscriptionId)
    t.equal(sub.items.data[0]!.current_period_start, sub.start_date, `${sub.id} did not move`)
    t.equal((await env.stripe.invoices.list({ subscription: other.subscriptionId })).data.length, 1)
  }
  t.equal((await env.stripe.testHelpers.testClocks.retrieve(b.id)).frozen_time, T0 + 10 * DAY, 'clock B kept its time')
})

t.test('the control route moves the account and every clock', async t => {
  const env = await startEmulator(t)
  const { pro } = await seedCatalog(env.stripe)
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const onClock = await subscribeOnClock(env, clock.id, pro.id)
  const free = await subscribe(env, pro.id)
  const before = await env.control('clock')
  await env.control('clock/advance', { seconds: 32 * DAY })
  t.ok((await env.control('clock')).now >= before.now + 32 * DAY)
  t.match(await env.stripe.testHelpers.testClocks.retrieve(clock.id), { frozen_time: T0 + 32 * DAY, status: 'ready' })
  for (const { subscriptionId } of [onClock, free]) {
    t.equal((await env.stripe.invoices.list({ subscription: subscriptionId })).data.length, 2, `${subscriptionId} renewed`)
  }
})

t.test('deleting a clock deletes its customers and their objects', async t => {
  const env = await startEmulator(t)
  const { pro } = await seedCatalog(env.stripe)
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const { customerId, subscriptionId } = await subscribeOnClock(env, clock.id, pro.id)
  const free = await subscribe(env, pro.id)
  await env.stripe.testHelpers.testClocks.del(clock.id)
  t.same(await env.stripe.customers.retrieve(customerId), { id: customerId, object: 'customer', deleted: true })
  t.equal((await env.stripe.subscriptions.retrieve(subscriptionId).catch(e => e)).statusCode, 404)
  t.same((await env.stripe.invoices.list({ customer: customerId })).data, [])
  const types = (await env.stripe.events.list({ limit: 5 })).data.map(e => e.type)
  t.same(types.slice(0, 3), ['test_helpers.test_clock.deleted', 'customer.deleted', 'customer.subscription.deleted'])
  t.equal((await env.stripe.subscriptions.retrieve(free.subscriptionId)).status, 'active', 'other customers stay')
  const gone = await env.stripe.customers.create({ test_clock: clock.id }).catch(e => e)
  t.equal(gone.statusCode, 404)
})
