import t from 'tap'
import { decideEvent } from '../../src/billing/lifecycle.js'

const ev = (type: string, object: Record<string, unknown>) => ({ id: 'evt_1', type, data: { object } })

t.test('a completed subscription checkout binds its user, customer and subscription', async t => {
  const d = decideEvent(ev('checkout.session.completed', {
    id: 'cs_1', mode: 'subscription', payment_status: 'paid', client_reference_id: 'u1', metadata: { user_id: 'u1', plan_id: 'pro' }, customer: 'cus_1', subscription: 'sub_1'
  }))
  t.same(d, { kind: 'subscription', subscriptionId: 'sub_1', snapshot: null, userId: 'u1', customerId: 'cus_1', checkout: { sessionId: 'cs_1', userId: 'u1', customerId: 'cus_1', planId: 'pro', state: 'complete' }, emails: [] })
  t.match(decideEvent(ev('checkout.session.completed', { id: 'cs_1', mode: 'subscription', metadata: { user_id: 'u2' }, customer: 'cus_1', subscription: 'sub_1' })),
    { checkout: { userId: 'u2', planId: null } }, 'metadata names the user when client_reference_id is absent')
  t.match(decideEvent(ev('checkout.session.completed', { id: 'cs_1', mode: 'payment', client_reference_id: 'u1' })), { kind: 'ignore' })
  t.match(decideEvent(ev('checkout.session.completed', { id: 'cs_1', mode: 'subscription', customer: 'cus_1', subscription: 'sub_1', metadata: {} })),
    { kind: 'ignore', reason: /no user/ })
})

t.test('a checkout provisions once its payment is in: paid or free at once, a bank debit when it succeeds; a failed one sends an email', async t => {
  const session = { id: 'cs_2', mode: 'subscription', client_reference_id: 'u1', metadata: { plan_id: 'pro' }, customer: 'cus_1', subscription: 'sub_1' }
  const stateOf = (type: string, paymentStatus: string) => (decideEvent(ev(type, { ...session, payment_status: paymentStatus })) as { checkout: { state: string } }).checkout.state
  t.equal(stateOf('checkout.session.completed', 'paid'), 'complete')
  t.equal(stateOf('checkout.session.completed', 'no_payment_required'), 'complete')
  t.equal(stateOf('checkout.session.completed', 'unpaid'), 'payment_pending', 'an asynchronous payment has not arrived yet')
  t.equal(stateOf('checkout.session.async_payment_succeeded', 'paid'), 'complete')
  t.equal(stateOf('checkout.session.async_payment_failed', 'unpaid'), 'payment_failed')
  t.match(decideEvent(ev('checkout.session.async_payment_failed', { ...session, payment_status: 'unpaid' })),
    { emails: [{ template: 'checkout_payment_failed', data: { session_id: 'cs_2', plan_id: 'pro' } }] })
})

t.test('subscription events carry the whole subscription as of the event; a bare id only names one to re-read', async t => {
  const whole = { id: 'sub_9', object: 'subscription', status: 'active', customer: 'cus_9', metadata: { user_id: 'u9' }, items: { data: [] } }
  for (const type of ['created', 'updated', 'deleted', 'paused', 'resumed']) {
    t.same(decideEvent(ev(`customer.subscription.${type}`, whole)),
      { kind: 'subscription', subscriptionId: 'sub_9', snapshot: whole, userId: 'u9', customerId: 'cus_9', emails: [] }, type)
  }
  t.same(decideEvent(ev('customer.subscription.updated', { id: 'sub_9', object: 'subscription' })),
    { kind: 'subscription', subscriptionId: 'sub_9', snapshot: null, userId: null, customerId: null, emails: [] }, 'an operator\'s sync names the subscription only')
  const trialing = { ...whole, status: 'trialing', trial_end: 1234, items: { data: [{ quantity: 2, price: { unit_amount: 900, currency: 'usd' } }] } }
  t.same(decideEvent(ev('customer.subscription.trial_will_end', trialing)), {
    kind: 'subscription',
    subscriptionId: 'sub_9',
    snapshot: trialing,
    userId: 'u9',
    customerId: 'cus_9',
    emails: [{
      template: 'trial_will_end',
      once: 'trial_will_end:sub_9:1234',
      data: { subscription_id: 'sub_9', trial_end: 1234, amount: 1800, currency: 'usd', has_card: false }
    }]
  }, 'one notice per trial: its key is the subscription and the trial end, not the event')
})

t.test('schedule events name their subscription (a released one under released_subscription) for a re-read', async t => {
  const schedule = { id: 'sub_sched_1', object: 'subscription_schedule', customer: 'cus_9', metadata: { user_id: 'u9' } }
  t.same(decideEvent(ev('subscription_schedule.updated', { ...schedule, subscription: 'sub_9' })),
    { kind: 'subscription', subscriptionId: 'sub_9', snapshot: null, userId: 'u9', customerId: 'cus_9', emails: [] })
  t.match(decideEvent(ev('subscription_schedule.released', { ...schedule, subscription: null, released_subscription: 'sub_9' })), { kind: 'subscription', subscriptionId: 'sub_9', snapshot: null })
  t.match(decideEvent(ev('subscription_schedule.created', { ...schedule, subscription: null })), { kind: 'ignore' }, 'a schedule that starts later has no subscription yet')
})

t.test('invoices name their subscription under parent.subscription_details; a failed one asks for one email', async t => {
  const invoice = {
    id: 'in_1', amount_due: 2900, currency: 'usd', attempt_count: 2, next_payment_attempt: 5555, hosted_invoice_url: 'https://x/in_1',
    customer: 'cus_3',
    parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_3', metadata: { user_id: 'u3' } } }
  }
  t.same(decideEvent(ev('invoice.paid', invoice)), { kind: 'subscription', subscriptionId: 'sub_3', snapshot: null, userId: 'u3', customerId: 'cus_3', emails: [] },
    'the subscription\'s metadata on the invoice names the user')
  t.same(decideEvent(ev('invoice.payment_failed', invoice)), {
    kind: 'subscription',
    subscriptionId: 'sub_3',
    snapshot: null,
    userId: 'u3',
    customerId: 'cus_3',
    emails: [{ template: 'payment_failed', data: { invoice_id: 'in_1', amount_due: 2900, currency: 'usd', attempt_count: 2, next_payment_attempt: 5555, hosted_invoice_url: 'https://x/in_1' } }]
  })
  t.match(decideEvent(ev('invoice.paid', { id: 'in_2', parent: null })), { kind: 'ignore' }, 'a one-off invoice is not ours')
})

t.test('price and product events refresh the price cache; anything else is ignored', async t => {
  t.same(decideEvent(ev('price.updated', { id: 'price_1' })), { kind: 'refresh-prices' })
  t.same(decideEvent(ev('product.deleted', { id: 'prod_1' })), { kind: 'refresh-prices' })
  t.match(decideEvent(ev('invoice.finalized', { id: 'in_1' })), { kind: 'ignore', reason: 'event type not handled' })
  t.match(decideEvent(ev('customer.created', { id: 'cus_1' })), { kind: 'ignore' })
})

t.test('a checkout without a customer or without a subscription is not ours to provision', async t => {
  const session = { id: 'cs_3', mode: 'subscription', client_reference_id: 'u1', customer: 'cus_1', subscription: 'sub_1' }
  t.same(decideEvent(ev('checkout.session.completed', { ...session, customer: null })), { kind: 'ignore', reason: 'checkout session has no subscription' })
  t.same(decideEvent(ev('checkout.session.completed', { ...session, subscription: null })), { kind: 'ignore', reason: 'checkout session has no subscription' })
  t.same(decideEvent(ev('checkout.session.completed', { ...session, mode: 'setup' })), { kind: 'ignore', reason: 'checkout in setup mode' })
  t.match(decideEvent(ev('checkout.session.completed', { ...session, client_reference_id: '', metadata: { user_id: 'u7' } })), { userId: 'u7' },
    'an empty client_reference_id names nobody')
  t.same(decideEvent(ev('checkout.session.completed', { ...session, client_reference_id: null })), { kind: 'ignore', reason: 'checkout session names no user' },
    'no client_reference_id and no metadata')
  t.match(decideEvent(ev('checkout.session.completed', { ...session, client_reference_id: 42, metadata: { user_id: 'u8' } })), { userId: 'u8' },
    'a number is no user id')
  t.match(decideEvent(ev('checkout.session.completed', { ...session, customer: { id: 'cus_x' }, subscription: { id: 'sub_x' } })),
    { customerId: 'cus_x', subscriptionId: 'sub_x' }, 'expanded objects name their ids')
  t.match(decideEvent(ev('checkout.session.completed', { ...session, customer: {}, subscription: 'sub_1' })), { kind: 'ignore' },
    'an expanded object without an id names nothing')
  t.match(decideEvent(ev('checkout.session.async_payment_succeeded', { ...session, payment_status: 'unpaid' })), { checkout: { state: 'complete' } },
    'the success event completes whatever the session\'s payment_status says')
})

t.test('a subscription event is whole only with a status and its items', async t => {
  t.match(decideEvent(ev('customer.subscription.updated', { id: 'sub_1', items: { data: [] } })), { snapshot: null }, 'items without a status')
  t.match(decideEvent(ev('customer.subscription.updated', { id: 'sub_1', status: 'active', items: {} })), { snapshot: null }, 'a status without items')
  t.match(decideEvent(ev('customer.subscription.updated', { id: 'sub_1', status: 'active' })), { snapshot: null }, 'no items at all')
  t.match(decideEvent(ev('customer.subscription.updated', { id: 'sub_1', status: 'active', items: { data: [] }, customer: { id: 'cus_e' } })),
    { customerId: 'cus_e' }, 'an expanded customer')
})

t.test('invoices without a parent or metadata still apply to their subscription', async t => {
  t.same(decideEvent(ev('invoice.paid', { id: 'in_3', customer: 'cus_3', parent: { subscription_details: { subscription: { id: 'sub_3' } } } })),
    { kind: 'subscription', subscriptionId: 'sub_3', snapshot: null, userId: null, customerId: 'cus_3', emails: [] })
  t.same(decideEvent(ev('invoice.paid', { id: 'in_4', parent: { type: 'quote_details' } })), { kind: 'ignore', reason: 'invoice belongs to no subscription' })
  t.same(decideEvent(ev('invoice.payment_failed', { id: 'in_5' })), { kind: 'ignore', reason: 'invoice belongs to no subscription' })
})

t.test('a customer update names the customer to re-read; a test clock event carries its frozen time', async t => {
  t.same(decideEvent(ev('customer.updated', { id: 'cus_1', metadata: { user_id: 'u1' } })), { kind: 'customer', customerId: 'cus_1', userId: 'u1' })
  t.same(decideEvent(ev('customer.updated', { id: 'cus_1' })), { kind: 'customer', customerId: 'cus_1', userId: null })
  t.same(decideEvent(ev('customer.updated', {})), { kind: 'ignore', reason: 'customer event names no customer' })
  t.same(decideEvent(ev('test_helpers.test_clock.ready', { id: 'clock_1', frozen_time: 1234 })), { kind: 'test-clock', clockId: 'clock_1', frozenTime: 1234 })
  t.same(decideEvent(ev('test_helpers.test_clock.advancing', { id: 'clock_1', frozen_time: 0 })), { kind: 'test-clock', clockId: 'clock_1', frozenTime: 0 })
  t.same(decideEvent(ev('test_helpers.test_clock.ready', { id: 'clock_1' })), { kind: 'ignore', reason: 'test clock event without a frozen time' })
  t.same(decideEvent(ev('test_helpers.test_clock.ready', { frozen_time: 1234 })), { kind: 'ignore', reason: 'test clock event without a frozen time' })
  t.match(decideEvent(ev('test_helpers.test_clock.deleted', { id: 'clock_1', frozen_time: 1234 })), { kind: 'ignore', reason: 'event type not handled' })
})
