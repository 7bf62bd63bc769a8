import t, { type Test } from 'tap'
import { waitFor } from '../helpers/env.js'
import { startJourney } from './harness.js'

// Access moved by Stripe test clocks, as one would test it against Stripe's test mode: each user's
// customer lives on a clock of its own, the clock is advanced through Stripe's API, and Tollgate
// decides that user's access in the clock's time (learned from the test_helpers.test_clock.* events),
// while the host's clock and the other users stay where they are.

t.setTimeout(180_000)
const j = await startJourney(t, { workers: 1 })
const DAY = 86_400

interface Entitlement { plan_id: string | null, status: string, access: boolean, current_period_end: number | null, cancel_at_period_end: boolean }
const entitlement = async (userId: string): Promise<Entitlement> => {
  const res = await j.call('GET', `/api/v1/entitlements/${userId}`)
  if (res.status !== 200) throw new Error(`entitlements ${userId}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

/** A user whose customer lives on a new test clock, subscribed to starter and paid. */
async function subscribeOnClock (t: Test, userId: string) {
  const clock = await j.stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.now() / 1000) })
  const res = await j.call('POST', '/api/v1/create-checkout', { plan_id: 'starter', user_id: userId, email: `${userId}@example.test`, test_clock: clock.id })
  if (res.status !== 200) throw new Error(`create-checkout: ${res.status} ${JSON.stringify(res.body)}`)
  const paid = await j.control(`checkout/${res.body.session_id as string}/complete`, { outcome: 'paid' }) as { customer: string, subscription: string }
  t.equal((await j.stripe.customers.retrieve(paid.customer) as { test_clock: string }).test_clock, clock.id, `${userId}'s customer is on the clock`)
  const e = await waitFor(async () => { const e = await entitlement(userId); return e.access && e }, `${userId} to have access`)
  return { clock: clock.id, ...paid, periodEnd: e.current_period_end! }
}

/** Moves a clock to `to` and waits until Tollgate applied everything the move caused. */
async function advance (clock: string, to: number) {
  await j.stripe.testHelpers.testClocks.advance(clock, { frozen_time: to })
  await waitFor(async () => (await j.stripe.testHelpers.testClocks.retrieve(clock)).status === 'ready', `clock ${clock} to be ready`)
  await j.settled()
}

t.test('a cancellation at the period end keeps access to the last second of the period, in the clock\'s time', async t => {
  const { clock, periodEnd } = await subscribeOnClock(t, 'clock-cyd')
  const other = await subscribeOnClock(t, 'clock-bo')
  const cancel = await j.call('POST', '/api/v1/subscriptions/cancel', { user_id: 'clock-cyd', at_period_end: true })
  t.equal(cancel.status, 200)
  await waitFor(async () => (await entitlement('clock-cyd')).cancel_at_period_end, 'the cancellation to be applied')

  await advance(clock, periodEnd - 1)
  t.match(await entitlement('clock-cyd'), { access: true, status: 'active' }, 'one second before the period ends: access')
  await advance(clock, periodEnd)
  t.match(await entitlement('clock-cyd'), { access: false }, 'at the period end: none')
  t.match(await entitlement('clock-bo'), { access: true, status: 'active' }, 'a user on another clock is untouched')
  t.ok(other.periodEnd > Math.floor(Date.now() / 1000), 'and the host clock never moved')
})

t.test('a failed renewal keeps access for the grace period and not a second longer, in the clock\'s time', async t => {
  const { clock, customer, subscription, periodEnd } = await subscribeOnClock(t, 'clock-dee')
  await j.control(`customers/${customer}/fail-payments`, { fail: true })
  await advance(clock, periodEnd + 60)
  const sub = await j.stripe.subscriptions.retrieve(subscription, { expand: ['latest_invoice'] })
  t.equal(sub.status, 'past_due', 'the renewal failed')
  const failedAt = (sub.latest_invoice as { status_transitions: { finalized_at: number } }).status_transitions.finalized_at
  t.match(await entitlement('clock-dee'), { access: true, status: 'past_due' }, 'past_due: access during the grace period')

  // PAST_DUE_GRACE_DAYS is 3 by default: the grace runs from the failed invoice.
  const graceEnds = failedAt + 3 * DAY
  await advance(clock, graceEnds - 1)
  t.match(await entitlement('clock-dee'), { access: true, status: 'past_due' }, 'one second before the grace ends: access')
  await advance(clock, graceEnds)
  t.match(await entitlement('clock-dee'), { access: false, status: 'past_due' }, 'when the grace ends: none, though Stripe still retries')
})
