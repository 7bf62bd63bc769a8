import { readFileSync } from 'node:fs'
import t from 'tap'
import { renderObject, type Lookup } from '../../emulator/versions/render.js'
import { LATEST_VERSION } from '../../emulator/versions/names.js'

// Object types the emulator does not serve yet: their breaking changes are rendered from objects
// with the keys that matter (Stripe's fixtures in ../shared have the rest), so they hold once
// those objects exist.
const coupon = { id: 'co_20off', object: 'coupon', percent_off: 20, duration: 'once' }
const price = { id: 'price_std', object: 'price', recurring: { interval: 'month', interval_count: 1, meter: null, trial_period_days: null, usage_type: 'licensed' } }
const raw = (name: string): any => ({
  discount: { id: 'di_1', object: 'discount', customer: 'cus_1', source: { coupon: null, type: 'coupon' }, start: 1, end: null },
  promotion_code: { id: 'promo_1', object: 'promotion_code', code: 'SAVE', promotion: { coupon: null, type: 'coupon' } },
  payment_intent: { id: 'pi_x', object: 'payment_intent', amount: 2000, latest_charge: null },
  charge: { id: 'ch_x', object: 'charge', amount: 2000, payment_intent: null },
  invoiceitem: { id: 'ii_1', object: 'invoiceitem', amount: 1500, parent: null, pricing: null, proration: false },
  subscription_schedule: {
    id: 'sub_sched_1',
    object: 'subscription_schedule',
    default_settings: { collection_method: 'charge_automatically' },
    phases: [{ discounts: [], items: [{ price: 'price_std', quantity: 1 }], end_date: 2 }, { discounts: [], items: [{ price: 'price_std', quantity: 2 }], end_date: 3 }]
  }
})[name]
const lookup: Lookup = {
  get: (id) => structuredClone(({ co_20off: coupon, price_std: price, pi_paid: { id: 'pi_paid', object: 'payment_intent', latest_charge: 'ch_paid' } } as Record<string, any>)[id]),
  planOf: (p) => ({ id: p.id, object: 'plan', usage_type: p.recurring.usage_type }),
  invoiceOfPaymentIntent: (id) => (id === 'pi_paid' ? 'in_paid' : null)
}

t.test('before 2025-09-30.clover a discount and a promotion code carry the full coupon', async t => {
  const discount = { ...raw('discount'), source: { coupon: 'co_20off', type: 'coupon' } }
  const promotion = { ...raw('promotion_code'), promotion: { coupon: 'co_20off', type: 'coupon' } }
  for (const version of ['2025-02-24.acacia', '2025-08-27.basil']) {
    const d = renderObject(discount, version, lookup)
    t.match(d.coupon, { id: 'co_20off', object: 'coupon' }, version)
    t.notOk('source' in d)
    const p = renderObject(promotion, version, lookup)
    t.match(p.coupon, { id: 'co_20off', object: 'coupon' })
    t.notOk('promotion' in p)
  }
  t.same(renderObject(discount, '2025-09-30.clover', lookup), discount, 'unchanged from clover on')
})

t.test('before 2025-03-31.basil payment intents and charges name their invoice; invoice items carry price and subscription', async t => {
  const pi = { ...raw('payment_intent'), id: 'pi_paid' }
  t.equal(renderObject(pi, '2025-02-24.acacia', lookup).invoice, 'in_paid')
  t.notOk('invoice' in renderObject(pi, '2025-03-31.basil', lookup))
  t.equal(renderObject({ ...raw('charge'), payment_intent: 'pi_paid' }, '2025-02-24.acacia', lookup).invoice, 'in_paid')
  t.equal(renderObject({ ...raw('charge'), payment_intent: null }, '2025-02-24.acacia', lookup).invoice, null)

  const ii = { ...raw('invoiceitem'), parent: { subscription_details: { subscription: 'sub_1', subscription_item: 'si_1' }, type: 'subscription_details' }, pricing: { price_details: { price: 'price_std', product: 'prod_1' }, type: 'price_details', unit_amount_decimal: '1500' } }
  const old = renderObject(ii, '2025-02-24.acacia', lookup)
  t.match(old, { subscription: 'sub_1', subscription_item: 'si_1', unit_amount: 1500, unit_amount_decimal: '1500', price: { id: 'price_std', object: 'price' }, plan: { id: 'price_std', object: 'plan' } })
  t.notOk('parent' in old || 'pricing' in old)

  const invoice = { id: 'in_paid', object: 'invoice', status: 'paid', discounts: [], total_taxes: [], payments: { object: 'list', data: [{ object: 'invoice_payment', status: 'paid', payment: { type: 'payment_intent', payment_intent: 'pi_paid' } }] }, parent: null, lines: { object: 'list', data: [] } }
  t.match(renderObject(invoice, '2025-02-24.acacia', lookup), { payment_intent: 'pi_paid', charge: 'ch_paid', paid: true, subscription: null, subscription_details: null })
})

t.test('before 2025-03-31.basil schedule phases have coupon and billing_thresholds; Checkout Sessions shipping_details', async t => {
  const schedule = renderObject(raw('subscription_schedule'), '2025-02-24.acacia', lookup)
  t.ok(schedule.phases.length > 0)
  for (const phase of schedule.phases) {
    t.equal(phase.coupon, null)
    t.equal(phase.billing_thresholds, null)
    t.ok(phase.items.every((i: any) => i.billing_thresholds === null))
  }
  t.equal(schedule.default_settings.billing_thresholds, null)
  const session = JSON.parse(readFileSync(new URL('../../emulator/templates/checkout.session.json', import.meta.url), 'utf8'))
  const old = renderObject(session, '2025-02-24.acacia', lookup)
  t.equal(old.shipping_details, null)
  t.equal(old.ui_mode, 'hosted', 'hosted_page is hosted before 2026-03-25.dahlia')
  t.equal(renderObject(session, '2026-03-25.dahlia', lookup).ui_mode, 'hosted_page')
  t.same(renderObject(session, LATEST_VERSION, lookup), session)
})
