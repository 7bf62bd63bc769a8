import t from 'tap'
import type { SubscriptionState } from '../../src/billing/access.js'
import { planApply } from '../../src/billing/apply-plan.js'
import { noReads, UnappliableEventError, type PlanItem, type Stored, type StripeReads, type SubscriptionRecord } from '../../src/billing/apply-records.js'
import { decideEvent } from '../../src/billing/lifecycle.js'
import { loadCatalogue } from '../../src/billing/plans.js'

const DAY = 86_400
const ctx = { catalogue: loadCatalogue(), graceDays: 3 }
const T0 = 1_700_000_000
const nothing = (): Stored => ({ subscriptions: [], customers: [], testClocks: [] })

const state = (o: Partial<SubscriptionState> = {}): SubscriptionState => ({
  id: 'sub_1', customerId: 'cus_1', userId: 'u1', priceId: 'price_pro', price: { planId: 'pro', productId: null, lookupKey: 'pro_monthly' },
  status: 'active', currentPeriodStart: T0, currentPeriodEnd: T0 + 30 * DAY, cancelAtPeriodEnd: false, cancelAt: null,
  startedAt: T0, endedAt: null, pastDueSince: null, testClock: null,
  trialStart: null, trialEnd: null, trialEndsWithoutCard: false, pending: null, discount: null, ...o
})

let n = 0
/** A subscription event carrying the whole subscription, decided as the worker decides it. */
const subEvent = (created: number, s: SubscriptionState, type = 'customer.subscription.updated'): PlanItem => ({
  event: { id: `evt_${++n}`, type, created },
  decision: decideEvent({ id: 'e', type, data: { object: { id: s.id, status: s.status, customer: s.customerId, metadata: s.userId ? { user_id: s.userId } : {}, items: { data: [] } } } }),
  snapshot: s
})
const event = (created: number, type: string, object: Record<string, unknown>): PlanItem => ({ event: { id: `evt_${++n}`, type, created }, decision: decideEvent({ id: 'e', type, data: { object } }), snapshot: null })
const invoice = (created: number, type: 'invoice.paid' | 'invoice.payment_failed', userId: string | null = 'u1') =>
  event(created, type, { id: `in_${n}`, customer: 'cus_1', amount_due: 2900, currency: 'usd', attempt_count: 1, parent: { subscription_details: { subscription: 'sub_1', metadata: userId ? { user_id: userId } : {} } } })
const checkout = (created: number, type: string, paymentStatus: string, planId: string | null = 'pro') =>
  event(created, type, { id: 'cs_1', mode: 'subscription', payment_status: paymentStatus, client_reference_id: 'u1', metadata: planId ? { plan_id: planId } : {}, customer: 'cus_1', subscription: 'sub_1' })

const record = (o: Partial<SubscriptionRecord> = {}): SubscriptionRecord => ({
  id: 'sub_1', userId: 'u1', customerId: 'cus_1', planId: 'pro', priceId: 'price_pro', status: 'active', currentPeriodStart: T0, currentPeriodEnd: T0 + 30 * DAY,
  cancelAtPeriodEnd: false, access: true, accessUntil: null, startedAt: T0, endedAt: null, stripeTime: T0, paymentState: null, paymentStateAt: null,
  trialEnd: null, pendingChange: null, discount: null, ...o
})
const reads = (o: Partial<StripeReads>): StripeReads => ({ ...noReads(), ...o })
const write = (items: PlanItem[], stored = nothing(), r = noReads()) => {
  const plan = planApply(items, stored, r, ctx)
  if (plan.kind !== 'write') throw new Error(`expected writes, got a read of ${JSON.stringify(plan.needs, (_k, v) => (v instanceof Set ? [...v] : v))}`)
  return plan
}
const needs = (items: PlanItem[], stored = nothing(), r = noReads()) => {
  const plan = planApply(items, stored, r, ctx)
  if (plan.kind !== 'read') throw new Error('expected a read')
  return { subscriptions: [...plan.needs.subscriptions], customers: [...plan.needs.customers], testClocks: [...plan.needs.testClocks] }
}

t.test('a new subscription grants its plan: the row, the entitlement with the plan\'s features, the customer binding', async t => {
  const plan = write([subEvent(T0 + 10, state())])
  t.match(plan.writes.subscriptions, [{ id: 'sub_1', userId: 'u1', planId: 'pro', status: 'active', access: true, accessUntil: null, stripeTime: T0 + 10 }])
  t.equal(plan.writes.entitlements.length, 1)
  t.match(plan.writes.entitlements[0], { userId: 'u1', sub: { id: 'sub_1' }, plan: { id: 'pro', features: { webhooks: true } } })
  t.same(plan.writes.customers, [{ userId: 'u1', customerId: 'cus_1', email: null, testClock: null, stripeTime: null }])
  t.same(plan.writes.checkouts, [])
  t.same(plan.writes.emails, [])
  t.same([...plan.results.values()], [{ outcome: 'applied', userId: 'u1' }])
  t.same(plan.fromReads, new Set())
})

t.test('a price no plan knows keeps the subscription but names no plan', async t => {
  const plan = write([subEvent(T0 + 10, state({ price: { planId: null, productId: null, lookupKey: 'by_hand' } }))])
  t.match(plan.writes.subscriptions, [{ planId: null }])
  t.equal(plan.writes.entitlements[0]!.plan, undefined)
})

t.test('the stale-write guard: an older snapshot is dropped, a newer one wins, whatever order they come in', async t => {
  const stored = { ...nothing(), subscriptions: [record({ stripeTime: T0 + 100 })] }
  const older = write([subEvent(T0 + 50, state({ status: 'canceled' }))], stored)
  t.same(older.writes.subscriptions, [], 'older than the stored state: nothing written')
  t.match(older.writes.entitlements, [{ sub: { status: 'active', access: true } }], 'the entitlement stays as the stored state says')
  const newer = write([subEvent(T0 + 150, state({ status: 'canceled' }))], stored)
  t.match(newer.writes.subscriptions, [{ status: 'canceled', access: false, stripeTime: T0 + 150 }])
  t.match(newer.writes.entitlements, [{ sub: { status: 'canceled', access: false } }])
  const both = [subEvent(T0 + 200, state({ status: 'canceled' })), subEvent(T0 + 150, state({ cancelAtPeriodEnd: true }))]
  t.match(write(both, stored).writes.subscriptions, [{ status: 'canceled' }], 'the newest of a batch, listed first')
  t.match(write([...both].reverse(), stored).writes.subscriptions, [{ status: 'canceled' }], 'or last')
})

t.test('when Stripe time cannot tell, Stripe\'s current state is read and written as of the newest event', async t => {
  const stored = { ...nothing(), subscriptions: [record({ stripeTime: T0 + 100 })] }
  t.same(needs([subEvent(T0 + 100, state({ status: 'canceled' }))], stored).subscriptions, ['sub_1'], 'the same second as the stored state')
  const twins = [subEvent(T0 + 200, state({ status: 'canceled' })), subEvent(T0 + 200, state({ cancelAtPeriodEnd: true }))]
  t.same(needs(twins, stored).subscriptions, ['sub_1'], 'two events of the same second')
  t.same(needs([subEvent(T0 + 200, state({ status: 'past_due' }))], stored).subscriptions, ['sub_1'], 'past_due: its grace starts at the open invoice')
  const sync = event(T0 + 300, 'customer.subscription.updated', { id: 'sub_1' })
  t.same(needs([sync], stored).subscriptions, ['sub_1'], 'an operator\'s sync')
  t.same(needs([sync, subEvent(T0 + 200, state())], stored).subscriptions, ['sub_1'], 'a sync wins over a snapshot in the same batch')

  const read = state({ status: 'past_due', pastDueSince: T0 + 250 })
  const plan = write(twins, stored, reads({ subscriptions: new Map([['sub_1', read]]) }))
  t.match(plan.writes.subscriptions, [{ status: 'past_due', access: true, accessUntil: T0 + 250 + 3 * DAY, stripeTime: T0 + 200 }])
  t.same(plan.fromReads, new Set(['sub_1']), 'valid only while the stored row is the one read against')
  const late = write([subEvent(T0 + 50, state()), sync], { ...nothing(), subscriptions: [record({ stripeTime: T0 + 400 })] }, reads({ subscriptions: new Map([['sub_1', state()]]) }))
  t.match(late.writes.subscriptions, [{ stripeTime: T0 + 400 }], 'a read never moves Stripe time backwards')
})

t.test('an invoice carries no state: a known subscription keeps its row, an unknown one is read', async t => {
  const stored = { ...nothing(), subscriptions: [record()] }
  const paid = write([invoice(T0 + 10, 'invoice.paid')], stored)
  t.match(paid.writes.subscriptions, [{ status: 'active', paymentState: 'paid', paymentStateAt: T0 + 10 }], 'only the payment word changes')
  t.same(write([invoice(T0 + 10, 'invoice.paid')], { ...nothing(), subscriptions: [record({ paymentState: 'paid', paymentStateAt: T0 + 10 })] }).writes.subscriptions, [],
    'nothing new: nothing written')
  t.same(needs([invoice(T0 + 10, 'invoice.paid')]).subscriptions, ['sub_1'], 'never seen before')
  const renewal = write([invoice(T0 + 20, 'invoice.paid')], { ...nothing(), subscriptions: [record({ paymentState: 'paid', paymentStateAt: T0 + 10 })] })
  t.match(renewal.writes.subscriptions, [{ paymentState: 'paid', paymentStateAt: T0 + 20 }], 'a later payment moves the time alone')
  const sameSecond = write([checkout(T0 + 10, 'checkout.session.async_payment_succeeded', 'paid')], { ...nothing(), subscriptions: [record({ paymentState: 'pending', paymentStateAt: T0 + 10 })] })
  t.match(sameSecond.writes.subscriptions, [{ paymentState: 'paid', paymentStateAt: T0 + 10 }], 'an outcome in the pending\'s own second changes the word alone')
})

t.test('a checkout paid by a bank debit grants access only once the payment is in', async t => {
  const pending = write([checkout(T0 + 10, 'checkout.session.completed', 'unpaid')], nothing(), reads({ subscriptions: new Map([['sub_1', state()]]) }))
  t.match(pending.writes.subscriptions, [{ paymentState: 'pending', paymentStateAt: T0 + 10, access: true }])
  t.same(pending.writes.entitlements.map(e => e.sub.access), [false], 'the entitlement waits for the payment')
  t.same(pending.writes.checkouts, [{ sessionId: 'cs_1', userId: 'u1', planId: 'pro', subscriptionId: 'sub_1', state: 'payment_pending', at: T0 + 10 }])

  const stored = { ...nothing(), subscriptions: [record({ paymentState: 'pending', paymentStateAt: T0 + 10 })] }
  const succeeded = write([checkout(T0 + 20, 'checkout.session.async_payment_succeeded', 'paid')], stored)
  t.match(succeeded.writes.subscriptions, [{ paymentState: 'paid', paymentStateAt: T0 + 20 }])
  t.same(succeeded.writes.checkouts.map(c => c.state), ['complete'])
  t.same(succeeded.writes.entitlements.map(e => e.sub.access), [true], 'the entitlement grants once the payment is in')
  const withAddress = { ...stored, customers: [{ userId: 'u1', customerId: 'cus_1', email: 'u1@example.com', testClock: null, stripeTime: T0 + 100 }] }
  const failed = write([checkout(T0 + 20, 'checkout.session.async_payment_failed', 'unpaid')], withAddress)
  t.match(failed.writes.subscriptions, [{ paymentState: 'failed' }])
  t.same(failed.writes.entitlements.map(e => e.sub.access), [false])
  t.match(failed.writes.emails, [{ to: 'u1@example.com', intent: { template: 'checkout_payment_failed' } }])

  const outOfOrder = write([checkout(T0 + 20, 'checkout.session.async_payment_succeeded', 'paid'), checkout(T0 + 10, 'checkout.session.completed', 'unpaid')], { ...nothing(), subscriptions: [record()] })
  t.match(outOfOrder.writes.subscriptions, [{ paymentState: 'paid', paymentStateAt: T0 + 20 }], 'a late pending never hides the outcome')
  const debitThenInvoice = write([invoice(T0 + 40, 'invoice.paid'), checkout(T0 + 30, 'checkout.session.async_payment_failed', 'unpaid')], withAddress)
  t.match(debitThenInvoice.writes.subscriptions, [{ paymentState: 'paid', paymentStateAt: T0 + 40 }], 'between two outcomes the later one')
  const invoiceThenDebit = write([invoice(T0 + 30, 'invoice.paid'), checkout(T0 + 40, 'checkout.session.async_payment_failed', 'unpaid')], withAddress)
  t.match(invoiceThenDebit.writes.subscriptions, [{ paymentState: 'failed', paymentStateAt: T0 + 40 }])
  const stillPending = write([checkout(T0 + 5, 'checkout.session.completed', 'unpaid')], { ...nothing(), subscriptions: [record({ paymentState: 'failed', paymentStateAt: T0 + 1 })] })
  t.same(stillPending.writes.subscriptions, [], 'an outcome already known is kept over a pending')
  const noPlan = write([checkout(T0 + 10, 'checkout.session.completed', 'paid', null)], stored)
  t.same(noPlan.writes.checkouts.map(c => c.planId), ['pro'], 'the plan of the stored subscription when the session names none')
  t.same(write([checkout(T0 + 10, 'checkout.session.completed', 'paid', null)], nothing(), reads({ subscriptions: new Map([['sub_1', state({ price: null })]]) }))
    .writes.checkouts.map(c => c.planId), ['unknown'])
})

t.test('the user of a subscription: the event\'s metadata, then an earlier binding, then Stripe; none is an error for an operator', async t => {
  const anonymous = (s = state({ userId: null })) => subEvent(T0 + 10, s)
  t.same(needs([anonymous()]).subscriptions, ['sub_1'])
  let error: unknown
  try { planApply([anonymous()], nothing(), reads({ subscriptions: new Map([['sub_1', state({ userId: null })]]) }), ctx) } catch (e) { error = e }
  t.ok(error instanceof UnappliableEventError)
  t.equal((error as Error).name, 'UnappliableEventError', 'named in logs and in the failed set')
  t.match(error, { code: 'subscription_without_user', message: /Subscription sub_1 \(customer cus_1\) names no user.*metadata\.user_id/ })
  t.same(write([anonymous()], nothing(), reads({ subscriptions: new Map([['sub_1', state({ userId: 'u9' })]]) })).writes.subscriptions.map(s => s.userId), ['u9'])
  t.same(write([anonymous()], { ...nothing(), subscriptions: [record({ userId: 'u2', stripeTime: 0 })] }).writes.subscriptions.map(s => s.userId), ['u2'], 'bound earlier')
  t.same(write([anonymous()], { ...nothing(), customers: [{ userId: 'u3', customerId: 'cus_1', email: null, testClock: null, stripeTime: null }] })
    .writes.subscriptions.map(s => s.userId), ['u3'], 'its customer is bound')
  const metadataFirst = write([checkout(T0 + 10, 'checkout.session.completed', 'paid'), subEvent(T0 + 10, state({ userId: 'u_meta' }), 'customer.subscription.created')],
    nothing(), reads({ subscriptions: new Map([['sub_1', state({ userId: 'u_meta' })]]) }))
  t.same(metadataFirst.writes.subscriptions.map(s => s.userId), ['u_meta'], 'Stripe\'s metadata over the checkout\'s client_reference_id')
  const lone = write([checkout(T0 + 10, 'checkout.session.completed', 'paid')], nothing(), reads({ subscriptions: new Map([['sub_1', state({ userId: null })]]) }))
  t.same(lone.writes.subscriptions.map(s => s.userId), ['u1'], 'the checkout names the user when metadata does not')
})

t.test('the entitlement follows the user\'s best subscription, and none when the only one moved to another user', async t => {
  const old = record({ id: 'sub_0', status: 'canceled', access: false, currentPeriodEnd: T0 + 90 * DAY, stripeTime: T0 })
  const plan = write([subEvent(T0 + 10, state())], { ...nothing(), subscriptions: [old] })
  t.same(plan.writes.entitlements.map(e => e.sub.id), ['sub_1'])
  const moved = write([subEvent(T0 + 10, state({ userId: 'u2' }))], { ...nothing(), subscriptions: [record({ userId: 'u1', stripeTime: 0 })] })
  t.same(moved.writes.entitlements.map(e => e.userId), ['u2'])
  const other = record({ id: 'sub_9', userId: 'u9', customerId: 'cus_9', planId: 'enterprise', currentPeriodEnd: T0 + 365 * DAY })
  const mine = write([subEvent(T0 + 10, state())], { ...nothing(), subscriptions: [other] })
  t.same(mine.writes.entitlements.map(e => [e.userId, e.sub.id]), [['u1', 'sub_1']], 'another user\'s subscription never serves this one')
})

t.test('a failed payment emails the address as of its event: the stored one when as new, else Stripe\'s', async t => {
  const customer = (stripeTime: number | null, email = 'old@example.com') => ({ userId: 'u1', customerId: 'cus_1', email, testClock: null, stripeTime })
  const stored = (c: ReturnType<typeof customer>) => ({ ...nothing(), subscriptions: [record()], customers: [c] })
  const failed = invoice(T0 + 50, 'invoice.payment_failed')
  const known = write([failed], stored(customer(T0 + 50)))
  t.match(known.writes.emails, [{ eventId: failed.event.id, userId: 'u1', to: 'old@example.com', intent: { template: 'payment_failed' } }])
  t.same(needs([failed], stored(customer(T0 + 49))).customers, ['cus_1'], 'older than the event: read the customer')
  t.same(needs([failed], stored(customer(null))).customers, ['cus_1'])
  const read = write([failed], stored(customer(T0 + 49)), reads({ customers: new Map([['cus_1', { id: 'cus_1', email: 'new@example.com', userId: 'u1', testClock: null }]]) }))
  t.same(read.writes.emails.map(e => e.to), ['new@example.com'])
  t.same(read.writes.customers, [{ userId: 'u1', customerId: 'cus_1', email: 'new@example.com', testClock: null, stripeTime: T0 + 50 }], 'and the address is kept')
  const none = write([failed], stored(customer(T0 + 50, '')))
  t.same(none.writes.emails, [])
  t.same([...none.results.values()], [{ outcome: 'applied', userId: 'u1', note: 'no email address for payment_failed' }])
  t.same(needs([failed], { ...nothing(), subscriptions: [record()] }).customers, ['cus_1'], 'no customer row yet: the subscription\'s customer')
})

t.test('customer updates: read, then the address follows the newest Stripe time; unbound customers are ignored', async t => {
  const update = (created: number) => event(created, 'customer.updated', { id: 'cus_1' })
  const stored = { ...nothing(), customers: [{ userId: 'u1', customerId: 'cus_1', email: 'a@example.com', testClock: null, stripeTime: T0 + 20 }] }
  t.same(needs([update(T0 + 30)], stored).customers, ['cus_1'])
  const fresh = reads({ customers: new Map([['cus_1', { id: 'cus_1', email: 'b@example.com', userId: 'u1', testClock: 'clock_1' }]]), testClocks: new Map([['clock_1', { id: 'clock_1', frozenTime: T0 }]]) })
  const plan = write([update(T0 + 30)], stored, fresh)
  t.same(plan.writes.customers, [{ userId: 'u1', customerId: 'cus_1', email: 'b@example.com', testClock: 'clock_1', stripeTime: T0 + 30 }])
  t.same(plan.writes.testClocks, [{ id: 'clock_1', frozenTime: T0 }], 'a clock Tollgate has not seen is read')
  t.same(write([update(T0 + 20)], stored, fresh).writes.customers.map(c => c.email), ['b@example.com'], 'the same second: the read is as new')
  const stale = write([update(T0 + 10)], stored, fresh).writes.customers
  t.same(stale.map(c => [c.email, c.stripeTime]), [['a@example.com', T0 + 20]], 'an older event keeps the newer address')
  const ignored = write([update(T0 + 30)], nothing())
  t.same([...ignored.results.values()], [{ outcome: 'ignored', note: 'customer is bound to no Tollgate user' }])
  const named = write([event(T0 + 30, 'customer.updated', { id: 'cus_1', metadata: { user_id: 'u5' } })], nothing(), fresh)
  t.same(named.writes.customers.map(c => c.userId), ['u5'], 'the customer\'s metadata names its user')
})

t.test('test clocks: events record their time; a subscription on an unseen clock asks for it, a known one does not', async t => {
  const tick = event(T0 + 5, 'test_helpers.test_clock.ready', { id: 'clock_1', frozen_time: T0 + 1000 })
  const ticked = write([tick])
  t.same(ticked.writes.testClocks, [{ id: 'clock_1', frozenTime: T0 + 1000 }])
  t.same([...ticked.results.values()], [{ outcome: 'applied' }], 'a clock belongs to no user and is applied all the same')
  t.same(needs([tick, subEvent(T0 + 10, state({ testClock: 'clock_2' }))]).testClocks, ['clock_2'], 'another clock\'s time does not tell this one\'s')
  const onClock = subEvent(T0 + 10, state({ testClock: 'clock_1' }))
  t.same(needs([onClock]).testClocks, ['clock_1'])
  t.same(write([onClock, tick]).writes.testClocks, [{ id: 'clock_1', frozenTime: T0 + 1000 }], 'the batch tells the clock\'s time')
  const known = write([onClock], { ...nothing(), testClocks: [{ id: 'clock_1', frozenTime: T0 }] })
  t.same(known.writes.testClocks, [])
  t.same(known.writes.customers.map(c => c.testClock), ['clock_1'], 'the customer lives on the clock')
})

t.test('events Tollgate does not handle are recorded as ignored with their reason', async t => {
  const plan = write([event(T0, 'invoice.finalized', { id: 'in_1' })])
  t.same([...plan.results.values()], [{ outcome: 'ignored', note: 'event type not handled' }])
  t.same(plan.writes, { subscriptions: [], entitlements: [], customers: [], checkouts: [], testClocks: [], emails: [], trialClaims: [], productEvents: [] })
})

t.test('the row keeps the trial, the scheduled change named by its plan, and the discount; a trial is claimed once per user', async t => {
  const discount = { percent_off: null, amount_off: 500, currency: 'usd', ends_at: T0 + 90 * DAY }
  const pending = { price: { planId: null, productId: null, lookupKey: 'starter_monthly' }, priceId: 'price_starter', at: T0 + 30 * DAY }
  const trialing = state({ status: 'trialing', trialStart: T0, trialEnd: T0 + 14 * DAY, pending, discount })
  const plan = write([subEvent(T0 + 10, trialing)])
  t.match(plan.writes.subscriptions, [{ trialEnd: T0 + 14 * DAY, pendingChange: { plan_id: 'starter', at: T0 + 30 * DAY }, discount }])
  t.same(plan.writes.trialClaims, [{ userId: 'u1', customerId: 'cus_1', subscriptionId: 'sub_1', trialEnd: T0 + 14 * DAY }])
  const byHand = write([subEvent(T0 + 10, state({ pending: { ...pending, price: { planId: null, productId: null, lookupKey: 'by_hand' } } }))])
  t.same(byHand.writes.subscriptions[0]!.pendingChange, { plan_id: null, at: T0 + 30 * DAY }, 'a change to a price no plan knows names no plan')
  const plain = write([subEvent(T0 + 10, state())])
  t.same([plain.writes.trialClaims, plain.writes.subscriptions[0]!.pendingChange, plain.writes.subscriptions[0]!.discount], [[], null, null], 'no trial, no change, no discount')
})

t.test('a trial about to end tells the product once, with its end and whether a card is on file, and emails nothing else as a notice', async t => {
  const trialing = state({ status: 'trialing', trialStart: T0, trialEnd: T0 + 14 * DAY })
  const willEnd = (card: string | null): PlanItem => ({
    event: { id: `evt_${++n}`, type: 'customer.subscription.trial_will_end', created: T0 + 11 * DAY },
    decision: decideEvent({ id: 'e', type: 'customer.subscription.trial_will_end', data: { object: { id: 'sub_1', status: 'trialing', customer: 'cus_1', metadata: { user_id: 'u1' }, trial_end: T0 + 14 * DAY, default_payment_method: card, items: { data: [] } } } }),
    snapshot: trialing
  })
  const known = { ...nothing(), customers: [{ userId: 'u1', customerId: 'cus_1', email: 'u1@example.com', testClock: null, stripeTime: T0 + 20 * DAY }] }
  const notices = (items: PlanItem[]) => write(items, known).writes.productEvents.filter(e => e.type === 'trial.will_end')
  const [withCard, ...rest] = notices([willEnd('pm_1')])
  t.same(rest, [])
  t.match(withCard, { userId: 'u1', onceKey: `trial_will_end:sub_1:${T0 + 14 * DAY}`, payload: { timestamp: new Date((T0 + 11 * DAY) * 1000).toISOString(), data: { trial_end: T0 + 14 * DAY, has_card: true } } })
  t.match(notices([willEnd(null)]), [{ payload: { data: { trial_end: T0 + 14 * DAY, has_card: false } } }], 'no card: the trial ends as the plan says')
  t.same(notices([subEvent(T0 + 10, trialing)]), [], 'an ordinary update of a trialing subscription is no notice')
  t.same(notices([invoice(T0 + 10, 'invoice.payment_failed'), subEvent(T0 + 11, trialing)]), [], 'a failed payment\'s email is no trial notice')
})

t.test('the product hears of a scheduled plan change when it differs from the user\'s stored row, not another user\'s or subscription\'s', async t => {
  const at = T0 + 30 * DAY
  const toStarter = { price: { planId: 'starter', productId: null, lookupKey: 'starter_monthly' }, priceId: 'price_starter', at }
  const other = record({ id: 'sub_9', userId: 'u2', customerId: 'cus_2', planId: 'enterprise', startedAt: T0 + 5, pendingChange: { plan_id: 'pro', at: T0 + 5 * DAY } })
  const stored = (pendingChange: SubscriptionRecord['pendingChange']) => ({ ...nothing(), subscriptions: [other, record({ pendingChange })] })
  const events = (pendingChange: SubscriptionRecord['pendingChange'], s: SubscriptionState) =>
    write([subEvent(T0 + 10, s)], stored(pendingChange)).writes.productEvents.map(e => ({ type: e.type, userId: e.userId, data: e.payload.data }))
  t.same(events({ plan_id: 'starter', at }, state({ pending: toStarter })), [], 'as stored: nothing to tell, and no change of entitlement')
  t.match(events(null, state({ pending: toStarter })), [{ type: 'plan_change.scheduled', userId: 'u1', data: { pending_change: { plan_id: 'starter', at }, entitlement: { plan_id: 'pro' } } }])
  t.match(events({ plan_id: 'starter', at }, state()), [{ type: 'plan_change.scheduled', data: { pending_change: null } }], 'a change undone is told too')
})

t.test('the product hears a checkout completed once it is paid, under the user who paid it', async t => {
  const checkoutEvents = (plan: ReturnType<typeof write>) => plan.writes.productEvents.filter(e => e.type === 'checkout.completed').map(e => ({ userId: e.userId, onceKey: e.onceKey, checkout: e.payload.data.checkout }))
  const pending = write([checkout(T0 + 10, 'checkout.session.completed', 'unpaid')], nothing(), reads({ subscriptions: new Map([['sub_1', state()]]) }))
  t.same(checkoutEvents(pending), [], 'a bank debit still pending completes nothing')
  const stored = { ...nothing(), subscriptions: [record({ paymentState: 'pending', paymentStateAt: T0 + 10 }), record({ id: 'sub_2', userId: 'u2', customerId: 'cus_2' })] }
  const theirs = event(T0 + 20, 'checkout.session.completed', { id: 'cs_2', mode: 'subscription', payment_status: 'paid', client_reference_id: 'u2', metadata: { plan_id: 'starter' }, customer: 'cus_2', subscription: 'sub_2' })
  const paid = write([checkout(T0 + 20, 'checkout.session.async_payment_succeeded', 'paid'), theirs], stored)
  t.same(checkoutEvents(paid), [
    { userId: 'u1', onceKey: 'checkout:cs_1', checkout: { session_id: 'cs_1', plan_id: 'pro' } },
    { userId: 'u2', onceKey: 'checkout:cs_2', checkout: { session_id: 'cs_2', plan_id: 'starter' } }
  ])
})

t.test('a snapshot that names its schedule or discount without carrying it, or a schedule event, is read from Stripe', async t => {
  const stored = { ...nothing(), subscriptions: [record({ stripeTime: T0 + 100 })] }
  t.same(needs([subEvent(T0 + 200, state({ pending: undefined }))], stored).subscriptions, ['sub_1'], 'a schedule id, not its phases')
  t.same(needs([subEvent(T0 + 200, state({ discount: undefined }))], stored).subscriptions, ['sub_1'], 'a discount id, not its terms')
  const schedule = event(T0 + 50, 'subscription_schedule.updated', { id: 'sub_sched_1', object: 'subscription_schedule', customer: 'cus_1', metadata: { user_id: 'u1' }, subscription: 'sub_1' })
  t.same(needs([schedule, subEvent(T0 + 200, state())], stored).subscriptions, ['sub_1'], 'a schedule changed: its subscription as Stripe has it now, over any snapshot')
  t.match(write([subEvent(T0 + 200, state())], stored).writes.subscriptions, [{ stripeTime: T0 + 200 }], 'a whole snapshot alone is written as it is')
})

t.test('in a batch of two users, each user\'s product events carry the time of that user\'s own events', async t => {
  const theirs = subEvent(T0 + 50, state({ id: 'sub_2', customerId: 'cus_2', userId: 'u2' }))
  const plan = write([subEvent(T0 + 10, state()), theirs])
  const times = plan.writes.productEvents.filter(e => e.type === 'entitlement.updated').map(e => [e.userId, e.payload.timestamp])
  t.same(times, [['u1', new Date((T0 + 10) * 1000).toISOString()], ['u2', new Date((T0 + 50) * 1000).toISOString()]])
})
