import t from 'tap'
import { checkoutUrls, portalReturnUrl } from '../../src/billing/app-links.js'
import { summarizeEvent } from '../../src/billing/event-summary.js'
import { loadCatalogue } from '../../src/billing/plans.js'

const catalogue = loadCatalogue()
const sub = (lookupKey: string, o: Record<string, unknown> = {}) => ({ object: 'subscription', id: 'sub_1', status: 'active', items: { data: [{ price: { lookup_key: lookupKey } }] }, ...o })
const updated = (object: Record<string, unknown>, previous?: Record<string, unknown>) => ({ data: { object, ...(previous && { previous_attributes: previous }) } })

t.test('a plan change reads as the catalogue\'s plans, a status change as its two words', async t => {
  const s = summarizeEvent('customer.subscription.updated', updated(sub('pro_monthly', { status: 'past_due' }), { items: sub('starter_monthly').items, status: 'active' }), catalogue)
  t.same(s.changes, ['plan starter → pro', 'status active → past_due'])
  t.same(s.detail, { object_id: 'sub_1', status: 'past_due', plan_id: 'pro', changed: ['items', 'status'] })
  t.same(summarizeEvent('customer.subscription.updated', updated(sub('pro_monthly'), { items: sub('legacy_key').items })).changes, ['plan legacy_key → pro_monthly'],
    'without a catalogue: the lookup keys')
  t.same(summarizeEvent('customer.subscription.updated', updated(sub('pro_monthly'), { items: { data: [] } }), catalogue).changes, ['plan ? → pro'])
  t.same(summarizeEvent('customer.subscription.updated', updated(sub('pro_monthly'), { items: sub('pro_monthly').items }), catalogue).changes, [],
    'items touched without a plan change say nothing')
})

t.test('a cancellation at period end, and its withdrawal', async t => {
  t.same(summarizeEvent('x', updated(sub('pro_monthly', { cancel_at_period_end: true }), { cancel_at_period_end: false }), catalogue).changes, ['cancels at period end'])
  const back = summarizeEvent('x', updated(sub('pro_monthly', { cancel_at_period_end: false }), { cancel_at_period_end: true }), catalogue)
  t.same(back.changes, ['cancellation withdrawn'])
  t.equal(back.detail.cancel_at_period_end, false)
})

t.test('a new subscription reads as its plan and status', async t => {
  t.same(summarizeEvent('customer.subscription.created', updated(sub('enterprise_monthly', { status: 'trialing' })), catalogue).changes, ['enterprise, trialing'])
  t.same(summarizeEvent('customer.subscription.created', updated({ object: 'subscription', id: 'sub_2', status: 'incomplete' })).changes, ['incomplete'])
  t.same(summarizeEvent('customer.subscription.created', updated({ object: 'subscription', id: 'sub_2' })).changes, [], 'nothing to say: no empty line')
})

t.test('an invoice reads as the amount due in its currency, its status and its attempt', async t => {
  const inv = { object: 'invoice', id: 'in_1', amount_due: 2900, currency: 'eur', status: 'open', attempt_count: 2, billing_reason: 'subscription_cycle', customer_email: 'x@example.com' }
  const s = summarizeEvent('invoice.payment_failed', updated(inv))
  t.same(s.changes, ['€29.00 due, open, attempt 2'])
  t.same(s.detail, { object_id: 'in_1', status: 'open', amount_due: 2900, attempt_count: 2, billing_reason: 'subscription_cycle' }, 'no address in the details')
  t.same(summarizeEvent('invoice.paid', updated({ object: 'invoice', id: 'in_2', amount_due: 900, status: 'paid', attempt_count: 0 })).changes, ['$9.00 due, paid'],
    'dollars when the currency is missing; no attempt before the first')
  t.same(summarizeEvent('invoice.paid', updated({ object: 'invoice', id: 'in_3', status: 'paid' })).changes, ['paid'])
})

t.test('anything else reads as its status, and a payload without an object as nothing', async t => {
  t.same(summarizeEvent('checkout.session.completed', updated({ object: 'checkout.session', id: 'cs_1', status: 'complete' })).changes, ['complete'])
  t.same(summarizeEvent('customer.updated', updated({ object: 'customer', id: 'cus_1' })), { changes: [], detail: { object_id: 'cus_1' } })
  t.same(summarizeEvent('weird', {}), { changes: [], detail: { object_id: null } })
  t.same(summarizeEvent('weird', null as never), { changes: [], detail: { object_id: null } })
})

t.test('every link back to the product is built from APP_URL, with or without its trailing slash', async t => {
  for (const app of ['https://app.example.com', 'https://app.example.com/', 'https://app.example.com//']) {
    t.same(checkoutUrls(app), {
      success_url: 'https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://app.example.com/billing/cancel'
    }, app)
    t.equal(portalReturnUrl(app), 'https://app.example.com/billing')
  }
})
