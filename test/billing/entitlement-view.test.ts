import t from 'tap'
import { accessNow, hostClock } from '../../src/billing/clock.js'
import { NO_ENTITLEMENT, toEntitlement, type EntitlementSnapshot } from '../../src/billing/entitlement-view.js'

const NOW = 1_700_000_000
const clock = () => NOW * 1000 + 999
const paid: EntitlementSnapshot = {
  plan_id: 'pro', status: 'active', access: true, access_until: null, features: { api: true }, limits: { requests_per_month: 1000 },
  current_period_end: NOW + 100, cancel_at_period_end: false
}

t.test('a user with nothing sees no plan, status none and no access', async t => {
  t.same(toEntitlement('u0', NO_ENTITLEMENT, clock), {
    user_id: 'u0', plan_id: null, status: 'none', access: false, features: {}, limits: {}, current_period_end: null, cancel_at_period_end: false,
    trial_end: null, pending_change: null, discount: null
  })
})

t.test('an active subscription with no end serves its features and limits', async t => {
  t.same(toEntitlement('u1', paid, clock), {
    user_id: 'u1', plan_id: 'pro', status: 'active', access: true, features: { api: true }, limits: { requests_per_month: 1000 },
    current_period_end: NOW + 100, cancel_at_period_end: false, trial_end: null, pending_change: null, discount: null
  })
})

t.test('access ends at access_until when read, even from a snapshot written while it held', async t => {
  const ending = { ...paid, access_until: NOW + 1, cancel_at_period_end: true }
  t.match(toEntitlement('u1', ending, clock), { access: true, features: { api: true }, cancel_at_period_end: true }, 'one second before the end')
  const ended = toEntitlement('u1', { ...ending, access_until: NOW }, clock)
  t.match(ended, { access: false, plan_id: 'pro', status: 'active' }, 'at the very second it ends')
  t.same([ended.features, ended.limits], [{}, {}], 'a product reading only a feature flag is denied too')
})

t.test('a snapshot that grants nothing never grants, whatever its end time', async t => {
  t.match(toEntitlement('u1', { ...paid, access: false, access_until: NOW + 1000 }, clock), { access: false, features: {}, limits: {} })
  t.match(toEntitlement('u1', { ...paid, access: false }, clock), { access: false })
})

t.test('a customer on a Stripe test clock lives in that clock\'s time, not the host\'s', async t => {
  const onClock = { ...paid, access_until: NOW + 50 }
  t.match(toEntitlement('u1', { ...onClock, test_clock_time: NOW + 60 }, clock), { access: false }, 'the clock was advanced past the end')
  t.match(toEntitlement('u1', { ...onClock, access_until: NOW - 50, test_clock_time: NOW - 60 }, clock), { access: true }, 'the clock is behind the host')
  t.equal(accessNow(clock, null), NOW, 'host time in whole seconds')
  t.equal(accessNow(clock, 0), 0, 'a clock frozen at the epoch is still a clock')
  t.ok(Math.abs(hostClock() - Date.now()) < 1000, 'the host clock is the wall clock in milliseconds')
})

t.test('a trialing user sees when the trial ends; any other status shows none, whatever the snapshot kept', async t => {
  const trialing = { ...paid, status: 'trialing', trial_end: NOW + 7 * 86400 }
  t.equal(toEntitlement('u1', trialing, clock).trial_end, NOW + 7 * 86400)
  t.equal(toEntitlement('u1', { ...trialing, status: 'active' }, clock).trial_end, null, 'a trial that converted ends nothing')
  t.equal(toEntitlement('u1', { ...trialing, status: 'past_due' }, clock).trial_end, null)
  t.equal(toEntitlement('u1', { ...paid, status: 'trialing' }, clock).trial_end, null, 'a snapshot cached before trial_end was kept')
})

t.test('a scheduled plan change and a discount are shown as the snapshot kept them', async t => {
  const pending = { plan_id: 'starter', at: NOW + 100 }
  const discount = { percent_off: 20, amount_off: null, currency: null, ends_at: NOW + 1000 }
  t.match(toEntitlement('u1', { ...paid, pending_change: pending, discount }, clock), { pending_change: pending, discount, plan_id: 'pro' })
  t.match(toEntitlement('u1', { ...paid, pending_change: null, discount: null }, clock), { pending_change: null, discount: null })
})
