import { readFileSync } from 'node:fs'
import t from 'tap'
import { decideAccess, type SubscriptionState } from '../../src/billing/access.js'
import { checkoutRefusal, holdsAccess, STATUS_TABLE, statusRule } from '../../src/billing/subscription-status.js'

/** Every status Stripe documents for a subscription: the table must give each one row. */
const STRIPE_STATUSES = ['trialing', 'active', 'past_due', 'unpaid', 'paused', 'incomplete', 'incomplete_expired', 'canceled']

t.test('every Stripe status has one row: access, and whether a second checkout is refused', async t => {
  t.same(Object.keys(STATUS_TABLE).sort(), [...STRIPE_STATUSES].sort())
  const rows = Object.fromEntries(STRIPE_STATUSES.map(s => [s, [statusRule(s).access, statusRule(s).refuseCheckout?.next ?? 'allowed']]))
  t.same(rows, {
    trialing: ['yes', 'change_plan'],
    active: ['yes', 'change_plan'],
    past_due: ['grace', 'pay_invoice'],
    unpaid: ['no', 'pay_invoice'],
    paused: ['no', 'resume'],
    incomplete: ['no', 'complete_payment'],
    incomplete_expired: ['no', 'allowed'],
    canceled: ['no', 'allowed']
  })
  t.same(STRIPE_STATUSES.filter(holdsAccess), ['trialing', 'active', 'past_due'])
})

t.test('a status Stripe adds later grants nothing and blocks a second checkout until someone looks', async t => {
  t.match(statusRule('some_future_status'), { access: 'no', refuseCheckout: { next: 'contact_support' } })
  t.match(statusRule('toString'), { access: 'no', refuseCheckout: { next: 'contact_support' } }, 'no prototype key passes for a row')
})

t.test('the access policy follows the table', async t => {
  const base: SubscriptionState = {
    id: 'sub_1', customerId: 'cus_1', userId: 'u1', priceId: 'price_1', price: { planId: null, productId: null, lookupKey: 'pro_monthly' }, status: 'active',
    currentPeriodStart: 1_000_000, currentPeriodEnd: 1_000_000 + 30 * 86_400, cancelAtPeriodEnd: false, cancelAt: null,
    startedAt: 900_000, endedAt: null, pastDueSince: 1_000_000, testClock: null,
    trialStart: null, trialEnd: null, trialEndsWithoutCard: false, pending: null, discount: null
  }
  for (const status of [...STRIPE_STATUSES, 'some_future_status']) {
    t.equal(decideAccess({ ...base, status }, 3).access, statusRule(status).access !== 'no', status)
  }
})

t.test('with several subscriptions, the refusal names the one ranked first by the table, then the newest', async t => {
  const sub = (id: string, status: string, created = 100) => ({ id, status, created })
  t.equal(checkoutRefusal([]), null)
  t.equal(checkoutRefusal([sub('a', 'canceled'), sub('b', 'incomplete_expired')]), null, 'only ended subscriptions: a checkout may start')
  t.match(checkoutRefusal([sub('a', 'canceled'), sub('b', 'incomplete')]), { subscription: { id: 'b' }, next: 'complete_payment' })
  const mixed = [sub('a', 'incomplete', 300), sub('b', 'unpaid', 200), sub('c', 'active', 100), sub('d', 'past_due', 400)]
  t.equal(checkoutRefusal(mixed)?.subscription.id, 'c', 'the subscription that serves the user comes first')
  t.equal(checkoutRefusal([...mixed].reverse())?.subscription.id, 'c', 'whatever the order of the list')
  t.equal(checkoutRefusal([sub('a', 'unpaid', 100), sub('b', 'unpaid', 200)])?.subscription.id, 'b', 'the newest of one status')
  t.equal(checkoutRefusal([sub('b', 'unpaid'), sub('a', 'unpaid')])?.subscription.id, checkoutRefusal([sub('a', 'unpaid'), sub('b', 'unpaid')])?.subscription.id, 'ties by id')
})

t.test('docs/EVENTS.md shows the same table', async t => {
  const doc = readFileSync('docs/EVENTS.md', 'utf8')
  const section = doc.split(/^## Subscription statuses.*$/m)[1]?.split(/^## /m)[0] ?? ''
  const documented = Object.fromEntries([...section.matchAll(/^\| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \|/gm)].map(m => [m[1], [m[2]!.trim(), m[3]!.trim()]]))
  const access = { yes: /^yes/, grace: /^during the grace period/, no: /^no/ } as const
  t.same(Object.keys(documented).sort(), [...STRIPE_STATUSES].sort(), 'one row per status')
  for (const status of STRIPE_STATUSES) {
    const rule = statusRule(status)
    const [docAccess, docCheckout] = documented[status] ?? ['', '']
    t.match(docAccess, access[rule.access], `${status}: access`)
    t.match(docCheckout, rule.refuseCheckout ? new RegExp(`^409 \`${rule.refuseCheckout.next}\``) : /^allowed/, `${status}: checkout`)
  }
})

t.test('within one status, the newest refuses from either side of the list, and ids break a tie in one direction', async t => {
  const sub = (id: string, status: string, created: number) => ({ id, status, created })
  t.equal(checkoutRefusal([sub('z', 'unpaid', 200), sub('a', 'unpaid', 100)])?.subscription.id, 'z', 'an older one later in the list does not take over')
  t.equal(checkoutRefusal([sub('a', 'unpaid', 100), sub('z', 'unpaid', 200)])?.subscription.id, 'z')
  t.equal(checkoutRefusal([sub('z', 'unpaid', 100), sub('a', 'unpaid', 200)])?.subscription.id, 'a', 'the newest, whatever its id')
  t.equal(checkoutRefusal([sub('a', 'unpaid', 100), sub('b', 'unpaid', 100)])?.subscription.id, 'b', 'the higher id on the same second')
  t.equal(checkoutRefusal([sub('b', 'unpaid', 100), sub('a', 'unpaid', 100)])?.subscription.id, 'b')
  t.equal(checkoutRefusal([sub('x', 'future_status', 100), sub('y', 'paused', 50)])?.subscription.id, 'y', 'an unknown status ranks after every known one')
  t.equal(checkoutRefusal([sub('y', 'paused', 50), sub('x', 'future_status', 100)])?.subscription.id, 'y')
  t.match(checkoutRefusal([sub('x', 'future_status', 100)]), { next: 'contact_support', advice: /look at the subscription in Stripe/ })
  t.match(checkoutRefusal([sub('x', 'unpaid', 100)]), { next: 'pay_invoice', advice: /billing portal \(POST \/api\/v1\/billing-portal\)/ }, 'the advice names the portal')
})
