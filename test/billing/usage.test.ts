import t from 'tap'
import { NO_ENTITLEMENT, type EntitlementSnapshot } from '../../src/billing/entitlement-view.js'
import { loadCatalogue, parseCatalogue } from '../../src/billing/plans.js'
import { planUsage, usageWindow } from '../../src/billing/usage.js'

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
