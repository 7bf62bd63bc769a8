import t from 'tap'
import { HANDLED_EVENT_TYPES } from '../../src/billing/handled-event-types.js'
import { decideEvent } from '../../src/billing/lifecycle.js'

// The reconciliation sweep asks Stripe for HANDLED_EVENT_TYPES only: a type decideEvent acts on but
// the list lacks would never be repaired, and one the list has but decideEvent ignores is wasted.
const objectFor = (type: string): Record<string, unknown> => {
  if (type.startsWith('checkout.')) return { id: 'cs_1', object: 'checkout.session', mode: 'subscription', client_reference_id: 'u1', customer: 'cus_1', subscription: 'sub_1' }
  if (type.startsWith('invoice.')) return { id: 'in_1', object: 'invoice', parent: { subscription_details: { subscription: 'sub_1' } } }
  if (type.startsWith('subscription_schedule.')) return { id: 'sub_sched_1', object: 'subscription_schedule', subscription: 'sub_1', customer: 'cus_1' }
  if (type.startsWith('customer.subscription.')) return { id: 'sub_1', object: 'subscription' }
  if (type.startsWith('customer.')) return { id: 'cus_1', object: 'customer' }
  if (type.startsWith('test_helpers.test_clock.')) return { id: 'clock_1', object: 'test_helpers.test_clock', frozen_time: 1 }
  return { id: 'x_1' }
}
const handled = (type: string) => decideEvent({ id: 'evt_1', type, data: { object: objectFor(type) } }).kind !== 'ignore'

t.test('every listed type is acted on', async t => {
  for (const type of HANDLED_EVENT_TYPES) t.ok(handled(type), type)
})

t.test('types Stripe sends that are not listed are ignored', async t => {
  for (const type of ['customer.created', 'customer.deleted', 'test_helpers.test_clock.deleted', 'invoice.created', 'invoice.finalized', 'invoice.payment_succeeded', 'invoiceitem.created', 'checkout.session.expired', 'subscription_schedule.expiring', 'payment_intent.succeeded', 'charge.succeeded']) {
    t.notOk(handled(type), type)
  }
})
