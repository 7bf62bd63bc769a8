import t from 'tap'
import { parseCatalogue } from '../../src/billing/plans.js'

const plan = { id: 'pro', name: 'Pro', lookup_key: 'pro_monthly', unit_amount: 2900, interval: 'month', features: {}, limits: {} }
const catalogue = (extra: Record<string, unknown>) => ({ currency: 'usd', plans: [{ ...plan, ...extra }] })

t.test('a plan may declare a trial, with or without a card, ending by cancel or pause', async t => {
  t.equal(parseCatalogue(catalogue({ trial_days: 14 })).byId('pro')!.trial_days, 14)
  t.match(parseCatalogue(catalogue({ trial_days: 7, trial_without_card: true, trial_end_behavior: 'pause' })).byId('pro'), { trial_without_card: true, trial_end_behavior: 'pause' })
})

t.test('trial settings that Stripe would refuse or that mean nothing are refused at boot', async t => {
  t.throws(() => parseCatalogue(catalogue({ trial_days: 0 })), /trial_days/)
  t.throws(() => parseCatalogue(catalogue({ trial_days: 731 })), /trial_days/)
  t.throws(() => parseCatalogue(catalogue({ trial_without_card: true })), /without trial_days/)
  t.throws(() => parseCatalogue(catalogue({ trial_days: 7, trial_end_behavior: 'pause' })), /only a trial_without_card plan/)
  t.throws(() => parseCatalogue(catalogue({ trial_days: 7, trial_without_card: true, trial_end_behavior: 'invoice' })), /trial_end_behavior/)
})
