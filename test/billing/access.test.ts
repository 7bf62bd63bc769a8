import t from 'tap'
import { currentSubscription, decideAccess, type SubscriptionState } from '../../src/billing/access.js'

const DAY = 86_400
const base: SubscriptionState = {
  id: 'sub_1', customerId: 'cus_1', userId: 'u1', priceId: 'price_1', price: { planId: null, productId: null, lookupKey: 'pro_monthly' }, status: 'active',
  currentPeriodStart: 1_000_000, currentPeriodEnd: 1_000_000 + 30 * DAY, cancelAtPeriodEnd: false, cancelAt: null,
  startedAt: 900_000, endedAt: null, pastDueSince: null, testClock: null,
  trialStart: null, trialEnd: null, trialEndsWithoutCard: false, pending: null, discount: null
}
const with_ = (o: Partial<SubscriptionState>) => ({ ...base, ...o })

t.test('active and trialing subscriptions grant access until further notice', async t => {
  t.same(decideAccess(base, 3), { access: true, accessUntil: null })
  t.same(decideAccess(with_({ status: 'trialing' }), 3), { access: true, accessUntil: null })
})

t.test('a trial that ends without a card keeps access to trial_end, not after; one with a card until further notice', async t => {
  const trial = { status: 'trialing', trialStart: 1_000_000, trialEnd: 1_000_000 + 7 * DAY }
  t.same(decideAccess(with_({ ...trial, trialEndsWithoutCard: true }), 3), { access: true, accessUntil: trial.trialEnd })
  t.same(decideAccess(with_({ ...trial, trialEndsWithoutCard: false }), 3), { access: true, accessUntil: null })
  t.same(decideAccess(with_({ ...trial, trialEndsWithoutCard: true, cancelAt: trial.trialEnd - DAY }), 3), { access: true, accessUntil: trial.trialEnd - DAY }, 'the earlier end wins')
})

t.test('a cancellation at period end keeps access to the period end (or to cancel_at)', async t => {
  t.same(decideAccess(with_({ cancelAtPeriodEnd: true }), 3), { access: true, accessUntil: base.currentPeriodEnd })
  t.same(decideAccess(with_({ cancelAt: 1_500_000 }), 3), { access: true, accessUntil: 1_500_000 })
})

t.test('past_due keeps access for the grace period after the unpaid invoice', async t => {
  t.same(decideAccess(with_({ status: 'past_due', pastDueSince: 1_100_000 }), 3), { access: true, accessUntil: 1_100_000 + 3 * DAY })
  t.same(decideAccess(with_({ status: 'past_due', pastDueSince: 1_100_000 }), 0), { access: true, accessUntil: 1_100_000 })
  t.same(decideAccess(with_({ status: 'past_due' }), 2), { access: true, accessUntil: base.currentPeriodStart! + 2 * DAY }, 'period start when the invoice is unknown')
  t.same(decideAccess(with_({ status: 'past_due', pastDueSince: 1_100_000, cancelAtPeriodEnd: true, currentPeriodEnd: 1_100_100 }), 3),
    { access: true, accessUntil: 1_100_100 }, 'a cancellation before the grace ends wins')
})

t.test('ended, unpaid, incomplete and paused subscriptions grant nothing', async t => {
  for (const status of ['canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused']) {
    t.same(decideAccess(with_({ status }), 3), { access: false, accessUntil: null }, status)
  }
})

t.test('the entitlement follows a subscription with access, then the one reaching furthest, whatever the order', async t => {
  const old = { id: 'sub_a', status: 'canceled', access: false, currentPeriodEnd: 500 }
  const now = { id: 'sub_b', status: 'active', access: true, currentPeriodEnd: 400 }
  const later = { id: 'sub_c', status: 'canceled', access: false, currentPeriodEnd: 900 }
  t.equal(currentSubscription([old, now, later])?.id, 'sub_b')
  t.equal(currentSubscription([later, now, old])?.id, 'sub_b')
  t.equal(currentSubscription([old, later])?.id, 'sub_c')
  const twin = { ...later, id: 'sub_d' }
  t.equal(currentSubscription([twin, later])?.id, currentSubscription([later, twin])?.id, 'ties broken by id')
  t.equal(currentSubscription([]), undefined)
})

t.test('between two subscriptions, the one with access wins over one reaching further, and the furthest wins among equals', async t => {
  const a = { id: 'sub_a', status: 'active', access: true, currentPeriodEnd: 100 }
  const b = { id: 'sub_b', status: 'canceled', access: false, currentPeriodEnd: 900 }
  t.equal(currentSubscription([a, b])?.id, 'sub_a', 'access first, whichever comes first in the list')
  t.equal(currentSubscription([b, a])?.id, 'sub_a')
  const c = { id: 'sub_c', status: 'active', access: true, currentPeriodEnd: 50 }
  t.equal(currentSubscription([c, a])?.id, 'sub_a', 'the one reaching further, from either side')
  t.equal(currentSubscription([a, c])?.id, 'sub_a')
  const z = { ...a, id: 'sub_z' }
  t.equal(currentSubscription([a, z])?.id, 'sub_z', 'on a full tie the higher id, from either side')
  t.equal(currentSubscription([z, a])?.id, 'sub_z')
  const open = { id: 'sub_o', status: 'active', access: true, currentPeriodEnd: null }
  t.equal(currentSubscription([open, a])?.id, 'sub_a', 'a subscription without a period end reaches nowhere')
})
