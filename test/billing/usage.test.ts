import t from 'tap'
import { NO_ENTITLEMENT, type EntitlementSnapshot } from '../../src/billing/entitlement-view.js'
import { loadCatalogue, parseCatalogue } from '../../src/billing/plans.js'
import { answerOf, checkMetric, counterTtl, deniedAnswer, meterEventTime, nextOverageReport, planUsage, thresholdEmails, thresholdEvents, usageWindow, type ThresholdCrossing } from '../../src/billing/usage.js'

const DAY = 86_400
const catalogue = loadCatalogue()
const starter = catalogue.byId('starter')!
const active: EntitlementSnapshot = {
  plan_id: 'starter', status: 'active', access: true, access_until: null, features: starter.features, limits: starter.limits,
  current_period_start: 1_000_000, current_period_end: 1_000_000 + 30 * DAY, cancel_at_period_end: false, test_clock_time: null
}
const at = (seconds: number) => () => seconds * 1000

t.test('the shipped catalogue meters requests: hard on starter, overage on pro and enterprise', async t => {
  t.same(catalogue.meteredMetrics, ['requests_per_month'])
  t.same(catalogue.plans.map(p => p.metered?.requests_per_month?.enforcement), ['hard', 'overage', 'overage'])
})

t.test('a catalogue that meters what it does not limit, or meters a fraction, is refused', async t => {
  const plan = { ...starter, metered: { calls: { enforcement: 'hard' } } }
  t.throws(() => parseCatalogue({ currency: 'usd', plans: [plan] }), /plan "starter" meters "calls", which needs a whole limit/)
  t.throws(() => parseCatalogue({ currency: 'usd', plans: [{ ...plan, limits: { calls: 2.5 } }] }), /meters "calls"/)
  t.throws(() => parseCatalogue({ currency: 'usd', plans: [{ ...starter, metered: { seats: { enforcement: 'overage' } } }] }), /Invalid plan catalogue/, 'overage needs its price')
  t.throws(() => parseCatalogue({ currency: 'usd', plans: [{ ...starter, metered: { seats: { enforcement: 'sometimes' } } }] }), /Invalid plan catalogue/)
  t.same(parseCatalogue({ currency: 'usd', plans: [{ ...starter, metered: { seats: { enforcement: 'soft' } } }] }).meteredMetrics, ['seats'])
})

t.test('the window is the billing period; past its end, the next one starting there, its end unknown', async t => {
  t.same(usageWindow(active, 1_000_000), { start: 1_000_000, resetsAt: 1_000_000 + 30 * DAY })
  t.same(usageWindow(active, 1_000_000 + 30 * DAY - 1), { start: 1_000_000, resetsAt: 1_000_000 + 30 * DAY })
  t.same(usageWindow(active, 1_000_000 + 30 * DAY), { start: 1_000_000 + 30 * DAY, resetsAt: null })
  t.same(usageWindow({ current_period_end: 1_000_000 }, 900_000), { start: 1_000_000, resetsAt: 1_000_000 }, 'a snapshot cached before the period start was kept')
})

t.test('usage counts in the customer\'s clock, and only with access and a plan that meters it', async t => {
  t.match(planUsage(catalogue, 'u', active, 'requests_per_month', at(1_000_100)), { kind: 'count', limit: 10_000, metered: { enforcement: 'hard' }, now: 1_000_100 })
  const onClock = { ...active, test_clock_time: 1_000_000 + 31 * DAY }
  t.match(planUsage(catalogue, 'u', onClock, 'requests_per_month', at(1_000_100)), { kind: 'count', window: { start: 1_000_000 + 30 * DAY, resetsAt: null } })
  t.same(planUsage(catalogue, 'u', NO_ENTITLEMENT, 'requests_per_month', at(1_000_100)), { kind: 'denied', metric: 'requests_per_month', reason: 'no_access' })
  t.match(planUsage(catalogue, 'u', { ...active, access_until: 1_000_050 }, 'requests_per_month', at(1_000_100)), { reason: 'no_access' }, 'access ended')
  t.match(planUsage(catalogue, 'u', { ...active, plan_id: 'legacy' }, 'requests_per_month', at(1_000_100)), { reason: 'not_in_plan' })
  t.throws(() => planUsage(catalogue, 'u', active, 'projects', at(1_000_100)), { code: 'unknown_metric', statusCode: 400 })
})

t.test('a period whose end is not known yet counts from its start and tells no reset', async t => {
  t.same(usageWindow({ current_period_start: 1_000_000, current_period_end: null }, 2_000_000), { start: 1_000_000, resetsAt: null })
  t.same(usageWindow({ current_period_start: null, current_period_end: null }, 2_000_000), { start: 0, resetsAt: null }, 'no period at all: one window from the epoch')
  t.same(usageWindow({ current_period_end: 1_000_000 + 30 * DAY }, 1_000_100), { start: 1_000_000 + 30 * DAY, resetsAt: 1_000_000 + 30 * DAY }, 'without a start, the window is named by its end')
})

t.test('an unknown metric is refused with the ones that are metered, or "none"', async t => {
  t.doesNotThrow(() => checkMetric(catalogue, 'requests_per_month'))
  t.throws(() => checkMetric({ meteredMetrics: ['calls', 'seats'] }, 'projects'), {
    statusCode: 400, code: 'unknown_metric', message: '"projects" is not a metered limit; metered: calls, seats', details: { metered: ['calls', 'seats'] }
  })
  t.throws(() => checkMetric({ meteredMetrics: [] }, 'calls'), { message: '"calls" is not a metered limit; metered: none', details: { metered: [] } })
})

t.test('a user counts only what their own plan meters and limits', async t => {
  const both = parseCatalogue({
    currency: 'usd',
    plans: [
      { ...starter, metered: { requests_per_month: { enforcement: 'soft' } } },
      { ...catalogue.byId('pro')!, metered: { seats: { enforcement: 'hard' } } }
    ]
  })
  const now = at(1_000_100)
  t.match(planUsage(both, 'u', active, 'requests_per_month', now), { kind: 'count', metric: 'requests_per_month', limit: 10_000, metered: { enforcement: 'soft' } })
  t.same(planUsage(both, 'u', active, 'seats', now), { kind: 'denied', metric: 'seats', reason: 'not_in_plan' }, 'another plan meters it')
  const noLimit = { ...active, limits: {} }
  t.same(planUsage(both, 'u', noLimit, 'requests_per_month', now), { kind: 'denied', metric: 'requests_per_month', reason: 'not_in_plan' }, 'metered but not limited in the snapshot')
  t.same(planUsage(both, 'u', { ...active, plan_id: null }, 'requests_per_month', now), { kind: 'denied', metric: 'requests_per_month', reason: 'not_in_plan' }, 'access without a plan')
  const { metered: _, ...unmetered } = catalogue.byId('pro')!
  const some = parseCatalogue({ currency: 'usd', plans: [starter, unmetered] })
  t.same(planUsage(some, 'u', { ...active, plan_id: 'pro' }, 'requests_per_month', now), { kind: 'denied', metric: 'requests_per_month', reason: 'not_in_plan' }, 'a plan that meters nothing')
})

t.test('the count is dated in the host clock\'s whole seconds, or in the customer\'s test clock', async t => {
  t.same(planUsage(catalogue, 'u', active, 'requests_per_month', () => 1_000_100_999), {
    kind: 'count', metric: 'requests_per_month', limit: 10_000, metered: { enforcement: 'hard' },
    window: { start: 1_000_000, resetsAt: 1_000_000 + 30 * DAY }, now: 1_000_100
  })
  const frozen = { ...active, access_until: 1_000_000 + 30 * DAY, test_clock_time: 1_000_000 + 10 * DAY }
  t.match(planUsage(catalogue, 'u', frozen, 'requests_per_month', at(1_000_000 + 40 * DAY)), { kind: 'count', now: 1_000_000 + 10 * DAY }, 'access holds in the customer\'s time')
})

t.test('the answer: what is used, what remains (never below 0), and why a call was refused', async t => {
  t.same(answerOf('requests_per_month', { allowed: true, used: 9_000, limit: 10_000, resetsAt: 2_000_000 }),
    { allowed: true, metric: 'requests_per_month', used: 9_000, limit: 10_000, remaining: 1_000, resets_at: 2_000_000 })
  t.same(answerOf('requests_per_month', { allowed: true, used: 10_500, limit: 10_000, resetsAt: null }),
    { allowed: true, metric: 'requests_per_month', used: 10_500, limit: 10_000, remaining: 0, resets_at: null }, 'a soft limit passed')
  t.same(answerOf('requests_per_month', { allowed: false, used: 10_000, limit: 10_000, resetsAt: 2_000_000 }),
    { allowed: false, metric: 'requests_per_month', used: 10_000, limit: 10_000, remaining: 0, resets_at: 2_000_000, reason: 'limit_reached' })
  t.same(deniedAnswer('seats', 'not_in_plan'), { allowed: false, metric: 'seats', used: 0, limit: null, remaining: null, resets_at: null, reason: 'not_in_plan' })
  t.same(deniedAnswer('seats', 'no_access'), { allowed: false, metric: 'seats', used: 0, limit: null, remaining: null, resets_at: null, reason: 'no_access' })
})

const crossing: ThresholdCrossing = {
  userId: 'u1', metric: 'requests_per_month', windowStart: 1_000_000, percents: [80, 100], used: 10_000, limit: 10_000, resetsAt: 2_000_000, at: 1_500_000
}

t.test('crossing 80 % and 100 % sends one email each, once per period', async t => {
  t.same(thresholdEmails(crossing, 'a@example.com'), [
    { eventId: 'usage:u1:requests_per_month:1000000:80', userId: 'u1', to: 'a@example.com', intent: { template: 'usage_threshold', data: { metric: 'requests_per_month', percent: 80, limit: 10_000, resets_at: 2_000_000 } } },
    { eventId: 'usage:u1:requests_per_month:1000000:100', userId: 'u1', to: 'a@example.com', intent: { template: 'usage_threshold', data: { metric: 'requests_per_month', percent: 100, limit: 10_000, resets_at: 2_000_000 } } }
  ])
  t.same(thresholdEmails({ ...crossing, percents: [] }, 'a@example.com'), [])
})

t.test('crossing a threshold tells the product once per period and threshold', async t => {
  const entitlement = { plan_id: 'starter', status: 'active', access: true, access_until: null, features: {}, limits: { requests_per_month: 10_000 }, current_period_end: 2_000_000, cancel_at_period_end: false }
  const events = thresholdEvents({ ...crossing, percents: [100], used: null }, entitlement)
  t.same(events, [{
    userId: 'u1',
    type: 'usage.threshold_reached',
    onceKey: 'usage_threshold:u1:requests_per_month:1000000:100',
    payload: {
      type: 'usage.threshold_reached',
      timestamp: new Date(1_500_000 * 1000).toISOString(),
      data: { user_id: 'u1', entitlement, metric: 'requests_per_month', threshold: 100, used: null, limit: 10_000, resets_at: 2_000_000 }
    }
  }])
  t.same(thresholdEvents(crossing, entitlement).map(e => e.onceKey), ['usage_threshold:u1:requests_per_month:1000000:80', 'usage_threshold:u1:requests_per_month:1000000:100'])
})

t.test('overage reports what is above the limit and not reported yet, never a credit', async t => {
  t.same(nextOverageReport({ used: 12_000, limit: 10_000, reported: 0 }, 'overage'), { from: 0, to: 2_000 })
  t.same(nextOverageReport({ used: 12_500, limit: 10_000, reported: 2_000 }, 'overage'), { from: 2_000, to: 2_500 }, 'the next link of the chain')
  t.equal(nextOverageReport({ used: 12_000, limit: 10_000, reported: 2_000 }, 'overage'), null, 'already reported')
  t.equal(nextOverageReport({ used: 12_000, limit: 20_000, reported: 2_000 }, 'overage'), null, 'the limit was raised')
  t.equal(nextOverageReport({ used: 9_000, limit: 10_000, reported: 0 }, 'overage'), null, 'under the limit')
  t.equal(nextOverageReport({ used: 12_000, limit: 10_000, reported: 0 }, 'hard'), null)
  t.equal(nextOverageReport({ used: 12_000, limit: 10_000, reported: 0 }, 'soft'), null)
  t.equal(nextOverageReport({ used: 12_000, limit: 10_000, reported: 0 }, undefined), null, 'the plan no longer meters it')
  t.equal(nextOverageReport({ used: 12_000, limit: null, reported: 0 }, 'overage'), null, 'no limit')
})

t.test('a meter event is stamped now in the customer\'s time, clamped into the window it bills', async t => {
  const S = 1_000_000
  const month = { start: S, end: S + 30 * DAY }
  t.equal(meterEventTime(S, month, S + 10 * DAY), S + 10 * DAY, 'inside the current window: now')
  t.equal(meterEventTime(S, month, S - 60), S, 'a clock behind the window\'s start: its start')
  t.equal(meterEventTime(S, month, S + 30 * DAY + 3600), S + 30 * DAY - 1, 'past the held period end: the window\'s last second')
  t.equal(meterEventTime(S - 31 * DAY, month, S + 2 * DAY), S - 1, 'the previous window, reported late: its last second')
  t.equal(meterEventTime(S + 30 * DAY, month, S + 31 * DAY), S + 31 * DAY, 'a window past the held end, renewal not applied: now')
  const year = { start: S, end: S + 365 * DAY }
  t.equal(meterEventTime(S, year, S + 75 * DAY), S + 75 * DAY, 'month 3 of a yearly period: now, not the period\'s start')
  t.equal(meterEventTime(S, { start: null, end: S + 30 * DAY }, S + DAY), S + DAY, 'no period start held: the end bounds it')
  t.equal(meterEventTime(S, { start: null, end: null }, S + DAY), S + DAY, 'no period held: now')
})

t.test('a counter lives to its reset and two days more, capped; 35 days when the reset is unknown', async t => {
  t.equal(counterTtl(null, 1_000_000), 35 * DAY)
  t.equal(counterTtl(1_000_000 + 10 * DAY, 1_000_000), 12 * DAY)
  t.equal(counterTtl(1_000_000 - DAY, 1_000_000), 2 * DAY, 'a reset already passed')
  t.equal(counterTtl(1_000_000 + 500 * DAY, 1_000_000), 400 * DAY, 'a yearly period is capped')
  t.equal(counterTtl(1_000_000 + 398 * DAY, 1_000_000), 400 * DAY)
})
