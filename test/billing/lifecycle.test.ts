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
