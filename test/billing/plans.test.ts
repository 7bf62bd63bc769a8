import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadCatalogue, meterEventName, overageLookupKey, overagesOf, parseCatalogue, productIdOf } from '../../src/billing/plans.js'

const plan = (id: string, key = `${id}_monthly`) => ({ id, name: id.toUpperCase(), lookup_key: key, unit_amount: 900, interval: 'month', features: { api: true }, limits: { seats: 1 } })

t.test('the shipped catalogue loads: starter, pro and enterprise, priced in usd', async t => {
  const c = loadCatalogue()
  t.equal(c.currency, 'usd')
  t.same(c.ids, ['starter', 'pro', 'enterprise'])
  t.equal(c.byId('pro')?.lookup_key, 'pro_monthly')
  t.equal(c.byLookupKey('enterprise_monthly')?.id, 'enterprise')
  t.equal(c.byId('nope'), undefined)
  t.equal(c.byLookupKey(null), undefined)
  t.equal(c.byLookupKey(''), undefined)
})

t.test('a subscribed price finds its plan by its mark first, then its product, then its lookup key (grandfathered prices)', async t => {
  const c = parseCatalogue({ currency: 'eur', plans: [plan('starter'), plan('pro')] })
  t.equal(c.planOf({ planId: 'pro', productId: 'tollgate_starter', lookupKey: 'starter_monthly' })?.id, 'pro', 'the price\'s own mark wins')
  t.equal(c.planOf({ planId: 'gone', productId: 'tollgate_starter', lookupKey: 'starter_monthly' }), undefined, 'a mark for a plan no longer offered names none')
  t.equal(c.planOf({ planId: null, productId: productIdOf({ id: 'pro' }), lookupKey: 'starter_monthly' })?.id, 'pro', 'then the product')
  t.equal(c.planOf({ planId: null, productId: 'prod_by_hand', lookupKey: 'starter_monthly' })?.id, 'starter', 'a price made by hand: its lookup key')
  t.equal(c.planOf({ planId: null, productId: null, lookupKey: null }), undefined)
  t.equal(c.planOf(null), undefined)
  t.equal(productIdOf({ id: 'pro' }), 'tollgate_pro')
})

t.test('a bad catalogue is refused with the file and the first problem named', async t => {
  t.throws(() => parseCatalogue({ currency: 'usd', plans: [] }, 'mine.json'), /Invalid plan catalogue mine\.json: \/plans/)
  t.throws(() => parseCatalogue({ currency: 'US', plans: [plan('a')] }), { message: 'Invalid plan catalogue plans: /currency must match pattern "^[a-z]{3}$"' }, 'the rule broken, as the schema words it')
  t.throws(() => parseCatalogue({ currency: 'usd', plans: [{ ...plan('a'), extra: 1 }] }), /Invalid plan catalogue/)
  t.throws(() => parseCatalogue(null), /Invalid plan catalogue plans: \//)
  t.throws(() => parseCatalogue({ currency: 'usd', plans: [plan('a', 'k1'), plan('a', 'k2')] }), /duplicate id "a"/)
  t.throws(() => parseCatalogue({ currency: 'usd', plans: [plan('a', 'k'), plan('b', 'k')] }), /duplicate lookup_key "k"/)
  t.doesNotThrow(() => parseCatalogue({ currency: 'usd', plans: [plan('a'), plan('b')] }))
  const one = (o: Record<string, unknown>) => () => parseCatalogue({ currency: 'usd', plans: [{ ...plan('a'), ...o }] })
  t.throws(one({ id: 'Pro Plan' }), /\/plans\/0\/id/, 'ids are lower-case slugs')
  t.throws(one({ name: '' }), /\/plans\/0\/name/)
  t.throws(one({ name: 'x'.repeat(101) }), /\/plans\/0\/name/)
  t.throws(one({ lookup_key: 'has space' }), /\/plans\/0\/lookup_key/)
  t.throws(one({ unit_amount: -1 }), /\/plans\/0\/unit_amount/)
  t.throws(one({ unit_amount: 9.5 }), /\/plans\/0\/unit_amount/, 'amounts are whole cents')
  t.throws(one({ interval: 'fortnight' }), /\/plans\/0\/interval/)
  for (const interval of ['day', 'week', 'month', 'year']) t.doesNotThrow(one({ interval }), interval)
  t.throws(() => parseCatalogue({ currency: 'usd', plans: [plan('a')], trial: true }), /Invalid plan catalogue plans: \/trial/, 'no unknown top-level field')
})

t.test('PLANS_FILE that cannot be read or parsed stops start-up with its path', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'plans-'))
  t.throws(() => loadCatalogue(join(dir, 'missing.json')), { message: new RegExp(`Cannot read plan catalogue ${dir}/missing.json: ENOENT`) })
  writeFileSync(join(dir, 'broken.json'), '{ not json')
  t.throws(() => loadCatalogue(join(dir, 'broken.json')), /Cannot read plan catalogue .*broken\.json/)
  writeFileSync(join(dir, 'ok.json'), JSON.stringify({ currency: 'gbp', plans: [plan('solo')] }))
  t.equal(loadCatalogue(join(dir, 'ok.json')).currency, 'gbp')
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ currency: 'gbp', plans: [] }))
  t.throws(() => loadCatalogue(join(dir, 'bad.json')), /Invalid plan catalogue .*bad\.json/)
})

const trialPlan = { id: 'pro', name: 'Pro', lookup_key: 'pro_monthly', unit_amount: 2900, interval: 'month', features: {}, limits: {} }
const withTrial = (extra: Record<string, unknown>) => ({ currency: 'usd', plans: [{ ...trialPlan, ...extra }] })

t.test('a plan may declare a trial, with or without a card, ending by cancel or pause', async t => {
  t.equal(parseCatalogue(withTrial({ trial_days: 14 })).byId('pro')!.trial_days, 14)
  t.match(parseCatalogue(withTrial({ trial_days: 7, trial_without_card: true, trial_end_behavior: 'pause' })).byId('pro'), { trial_without_card: true, trial_end_behavior: 'pause' })
})

t.test('trial settings that Stripe would refuse or that mean nothing are refused at boot', async t => {
  t.throws(() => parseCatalogue(withTrial({ trial_days: 0 })), /trial_days/)
  t.throws(() => parseCatalogue(withTrial({ trial_days: 731 })), /trial_days/)
  t.throws(() => parseCatalogue(withTrial({ trial_without_card: true })), /without trial_days/)
  t.throws(() => parseCatalogue(withTrial({ trial_days: 7, trial_end_behavior: 'pause' })), /only a trial_without_card plan/)
  t.throws(() => parseCatalogue(withTrial({ trial_days: 7, trial_without_card: true, trial_end_behavior: 'invoice' })), /trial_end_behavior/)
})

t.test('a trial ending by cancel is accepted; trial_end_behavior alone is refused for lacking trial_days first', async t => {
  t.equal(parseCatalogue(withTrial({ trial_days: 7, trial_without_card: true, trial_end_behavior: 'cancel' })).byId('pro')!.trial_end_behavior, 'cancel')
  t.throws(() => parseCatalogue(withTrial({ trial_end_behavior: 'cancel' })),
    { message: 'Invalid plan catalogue plans: plan "pro" sets trial_without_card or trial_end_behavior without trial_days' })
  t.throws(() => parseCatalogue(withTrial({ trial_days: 7, trial_without_card: false, trial_end_behavior: 'cancel' })),
    { message: 'Invalid plan catalogue plans: plan "pro" sets trial_end_behavior, which only a trial_without_card plan uses' })
})

const metered = (limits: Record<string, number>, m: Record<string, unknown>) => ({ currency: 'usd', plans: [{ ...trialPlan, limits, metered: m }] })

t.test('a metered limit needs a whole limit of at least 0 in the plan\'s limits', async t => {
  const refusal = (metric: string) => ({ message: `Invalid plan catalogue plans: plan "pro" meters "${metric}", which needs a whole limit of at least 0 in its limits` })
  t.throws(() => parseCatalogue(metered({}, { requests: { enforcement: 'hard' } })), refusal('requests'), 'no limit at all')
  t.throws(() => parseCatalogue(metered({ requests: 1.5 }, { requests: { enforcement: 'hard' } })), refusal('requests'), 'a fraction')
  t.throws(() => parseCatalogue(metered({ requests: -1 }, { requests: { enforcement: 'soft' } })), refusal('requests'), 'negative')
  t.throws(() => parseCatalogue(metered({ requests: 2 ** 53 }, { requests: { enforcement: 'soft' } })), refusal('requests'), 'beyond a safe integer')
  t.equal(parseCatalogue(metered({ requests: 0 }, { requests: { enforcement: 'hard' } })).byId('pro')!.limits.requests, 0, 'zero included: every unit is refused or billed')
})

t.test('metered settings are checked field by field: enforcement, overage amount and its per', async t => {
  const ok = (m: unknown) => () => parseCatalogue(metered({ requests: 10 }, { requests: m }))
  t.doesNotThrow(ok({ enforcement: 'hard' }))
  t.doesNotThrow(ok({ enforcement: 'soft' }))
  t.doesNotThrow(ok({ enforcement: 'overage', overage: { unit_amount: 1, per: 1_000_000_000 } }))
  t.throws(ok({ enforcement: 'hard', overage: { unit_amount: 5 } }), /\/plans\/0\/metered\/requests/, 'a hard limit bills no overage')
  t.throws(ok({ enforcement: 'soft', note: 'x' }), /\/plans\/0\/metered\/requests/)
  t.throws(ok({ enforcement: 'overage', overage: { unit_amount: 5 }, extra: true }), /\/plans\/0\/metered\/requests/)
  t.throws(ok({ enforcement: 'overage', overage: { unit_amount: 5, currency: 'eur' } }), /\/plans\/0\/metered\/requests/, 'the catalogue currency is the only one')
  t.throws(ok({ enforcement: 'overage', overage: { unit_amount: 0 } }), /\/plans\/0\/metered\/requests/, 'overage is never free')
  t.throws(ok({ enforcement: 'overage', overage: { unit_amount: 5, per: 0 } }), /\/plans\/0\/metered\/requests/)
  t.throws(ok({ enforcement: 'overage', overage: { unit_amount: 5, per: 1_000_000_001 } }), /\/plans\/0\/metered\/requests/)
  t.throws(ok({ enforcement: 'overage' }), /\/plans\/0\/metered\/requests/, 'overage without its price')
})

t.test('overages, their price lookup keys and meter event names', async t => {
  const c = parseCatalogue(metered({ requests: 10, tokens: 100, seats: 3 }, {
    tokens: { enforcement: 'overage', overage: { unit_amount: 2, per: 1000 } },
    seats: { enforcement: 'hard' },
    requests: { enforcement: 'overage', overage: { unit_amount: 5 } }
  }))
  const pro = c.byId('pro')!
  t.same(overagesOf(pro), [{ metric: 'tokens', unitAmount: 2, per: 1000 }, { metric: 'requests', unitAmount: 5, per: 1 }], 'per defaults to one unit; hard limits bill nothing')
  t.same(overagesOf(parseCatalogue(withTrial({})).byId('pro')!), [], 'a plan that meters nothing')
  t.equal(overageLookupKey(pro, 'tokens'), 'pro_monthly_tokens_overage')
  t.equal(meterEventName('tokens'), 'tollgate_tokens')
  t.same(c.meteredMetrics, ['requests', 'seats', 'tokens'], 'every metered metric, sorted')
})
