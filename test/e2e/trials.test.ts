import { fileURLToPath } from 'node:url'
import t from 'tap'
import { waitFor } from '../helpers/env.js'
import { startJourney } from './harness.js'

// Trials and period-end changes as users meet them: the real api and workers, the emulator's test
// clocks moving time, every event delivered twice and shuffled, email through an SMTP sink.

const DAY = 86_400
const T0 = Date.UTC(2030, 0, 15, 12) / 1000
const PLANS_FILE = fileURLToPath(new URL('../fixtures/plans-trials.json', import.meta.url))

t.setTimeout(240_000)
const j = await startJourney(t, { env: { PLANS_FILE } })
await j.control('chaos', { duplicate_rate: 1, shuffle_window_ms: 300 })

const entitlement = async (userId: string) => (await j.call('GET', `/api/v1/entitlements/${userId}`)).body
const mailTo = (email: string) => j.mail.messages.filter(m => m.To.includes(email))

/** A user whose Stripe customer lives on its own test clock (bound as Tollgate binds a customer). */
async function userOnClock (userId: string) {
  const clock = await j.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
  const customer = await j.stripe.customers.create({ email: `${userId}@example.test`, test_clock: clock.id, metadata: { user_id: userId } })
  await j.sql`insert into customers (user_id, stripe_customer_id, email, test_clock_id) values (${userId}, ${customer.id}, ${customer.email}, ${clock.id})`
  return clock.id
}
async function advance (clockId: string, frozenTime: number) {
  await j.stripe.testHelpers.testClocks.advance(clockId, { frozen_time: frozenTime })
  await waitFor(async () => (await j.stripe.testHelpers.testClocks.retrieve(clockId)).status === 'ready', 'the clock')
  await j.settled()
}
async function subscribe (userId: string, planId: string) {
  const res = await j.call('POST', '/api/v1/create-checkout', { plan_id: planId, user_id: userId })
  if (res.status !== 200) throw new Error(`create-checkout: ${res.status} ${JSON.stringify(res.body)}`)
  await j.control(`checkout/${res.body.session_id}/complete`, { outcome: 'paid' })
  await j.settled()
}

t.test('a trial without a card: one notice however often it is delivered, access to trial_end exactly, no second trial', async t => {
  const clock = await userOnClock('bo')
  await subscribe('bo', 'starter')
  const trialEnd = T0 + 7 * DAY
  t.match(await entitlement('bo'), { status: 'trialing', access: true, plan_id: 'starter', trial_end: trialEnd })

  await advance(clock, trialEnd - 1)
  t.match(await entitlement('bo'), { status: 'trialing', access: true }, 'one second before trial_end')
  await waitFor(() => mailTo('bo@example.test').length >= 1, 'the trial notice')
  t.equal(mailTo('bo@example.test').length, 1, 'one notice, though every event came twice')
  t.match(mailTo('bo@example.test')[0], { Subject: 'Your trial is ending soon' })

  await advance(clock, trialEnd)
  t.match(await entitlement('bo'), { status: 'canceled', access: false, features: {} }, 'at trial_end: none')

  await subscribe('bo', 'pro')
  t.match(await entitlement('bo'), { status: 'active', access: true, plan_id: 'pro', trial_end: null }, 'the second checkout has no trial')
  t.equal(mailTo('bo@example.test').length, 1)
})

t.test('pro → starter: pro until the boundary, starter one second after', async t => {
  const clock = await userOnClock('cy')
  await subscribe('cy', 'pro')
  await advance(clock, T0 + 14 * DAY + 60)
  const pro = await entitlement('cy')
  t.match(pro, { status: 'active', plan_id: 'pro' }, 'the trial converted')
  const boundary = pro.current_period_end as number
  const res = await j.call('POST', '/api/v1/subscriptions/change-plan', { user_id: 'cy', plan_id: 'starter' })
  t.match(res.body, { plan_id: 'pro', pending_change: { plan_id: 'starter', at: boundary } })
  await j.settled()
  await advance(clock, boundary - 1)
  t.match(await entitlement('cy'), { plan_id: 'pro', features: { webhooks: true }, pending_change: { plan_id: 'starter', at: boundary } })
  await advance(clock, boundary + 1)
  t.match(await entitlement('cy'), { plan_id: 'starter', features: { webhooks: false }, pending_change: null })
})
