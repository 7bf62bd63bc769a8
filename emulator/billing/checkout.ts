import { createCustomer } from '../resources/customers.js'
import { buildSubscription, customerDetails } from './build.js'
import { attemptPayment, createInvoice, finalizeInvoice } from './invoices.js'
import { badRequest } from '../wire/errors.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export type CheckoutOutcome = 'paid' | 'declined'

export const PAYING_CARD = '4242424242424242'
export const DECLINING_CARD = '4000000000000002'

// What Stripe does when the customer submits the hosted page: everything is caused by Checkout,
// so no event carries a request id.
export function completeCheckout (ctx: Ctx, session: Obj, outcome: CheckoutOutcome): Obj {
  if (session.status !== 'open') throw badRequest(`This Checkout Session is ${session.status}.`, 'session')
  if (outcome === 'declined') {
    session.status = 'expired'
    session.url = null
    ctx.emit('checkout.session.expired', session)
    return session
  }
  const details = ctx.store.sessionDetails.get(session.id)!
  const customer = session.customer
    ? ctx.store.get('customers', session.customer)!
    : createCustomer(ctx, { email: session.customer_email ?? 'customer@example.com' })
  const lines = details.lineItems.map((l) => ({ price: ctx.store.get('prices', l.price)!, quantity: l.quantity }))
  const sub = buildSubscription(ctx, customer, lines, details.subscriptionMetadata)
  ctx.store.put('subscriptions', sub)
  const start = sub.items.data[0].current_period_start
  const invoice = createInvoice(ctx, { sub, billingReason: 'subscription_create', periodStart: start, periodEnd: start, withItems: true })
  ctx.emit('customer.subscription.created', sub)
  ctx.emit('invoice.created', invoice)
  finalizeInvoice(ctx, invoice)
  attemptPayment(ctx, invoice, undefined, true)
  Object.assign(session, {
    customer: customer.id,
    customer_details: customerDetails(customer),
    invoice: invoice.id,
    payment_status: 'paid',
    status: 'complete',
    subscription: sub.id,
    url: null
  })
  ctx.emit('checkout.session.completed', session)
  return session
}
