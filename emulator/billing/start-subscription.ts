import { buildSubscription, type ItemInput } from './build.js'
import { createInvoice, finalizeInvoice, paymentIntentOf } from './invoices.js'
import { payInvoice } from './invoice-payments.js'
import { predictCharge } from './intents.js'
import { declineError, defaultPaymentMethod } from './payment-methods.js'
import { sendTrialNotice, trialNoticeDue } from './trials.js'
import { createDiscount, type Redemption } from './discounts.js'
import { upfrontAmount } from './pricing.js'
import { badRequest, cardError } from '../wire/errors.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export type PaymentBehavior = 'allow_incomplete' | 'default_incomplete' | 'error_if_incomplete'

export interface StartInput {
  customer: Obj
  lines: ItemInput[]
  metadata: Record<string, string>
  paymentBehavior: PaymentBehavior
  /** The subscription's own default payment method (attached to the customer), if any. */
  paymentMethod: Obj | null
  trialEnd: number | null
  /** Subscription fields set as given (trial_settings, cancel_at_period_end, description, …). */
  fields: Obj
  /** One-off invoice items billed with the first invoice (one-time prices in a subscription-mode Checkout). */
  extraItems?: Obj[]
  /** The customer is on a checkout page right now. */
  customerPresent?: boolean
  /** Coupons and promotion codes (already validated) that become the subscription's discounts. */
  discounts?: Redemption[]
  /** A subscription schedule starts it: `active` whatever its first payment does, retried like a renewal. */
  fromSchedule?: boolean
  request?: RequestInfo
}

const NO_PAYMENT_METHOD = 'This customer has no attached payment source or default payment method. Please consider adding a default payment method. For more information, visit https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.'

/**
 * Creates a subscription and its first invoice the way `payment_behavior` asks:
 * - `allow_incomplete`: the first payment is attempted; if it fails or needs authentication the
 *   subscription is `incomplete` (and expires after 23 hours unless paid).
 * - `default_incomplete`: nothing is charged; the first invoice's PaymentIntent waits to be confirmed.
 * - `error_if_incomplete`: a payment that would not succeed is refused with a 402 and nothing is created.
 * A trial (or nothing due today) starts `trialing` / `active` with an invoice of nothing, paid at once.
 */
export function startSubscription (ctx: Ctx, input: StartInput): Obj {
  const { customer, request } = input
  const now = ctx.now(customer)
  const trialing = input.trialEnd !== null && input.trialEnd > now
  const extras = input.extraItems ?? []
  const dueToday = (trialing ? 0 : input.lines.reduce((sum, l) => sum + upfrontAmount(ctx, l.price, l.quantity), 0)) + extras.reduce((sum, ii) => sum + ii.amount, 0)
  const pm = input.paymentMethod ?? defaultPaymentMethod(ctx, customer.id) ?? null
  // Without a payment method nothing can be attempted: the PaymentIntent waits, as with default_incomplete.
  const charging = dueToday > 0 && input.paymentBehavior !== 'default_incomplete' && pm !== null
  const predicted = charging && pm ? predictCharge(ctx, pm, customer.id, { customerPresent: input.customerPresent }) : undefined
  if (input.paymentBehavior === 'error_if_incomplete' && dueToday > 0) {
    if (!pm) throw badRequest(NO_PAYMENT_METHOD, undefined, 'resource_missing')
    if (typeof predicted === 'object') throw declineError(predicted)
    if (predicted === 'authenticates') {
      throw cardError('subscription_payment_intent_requires_action', 'Payment for this subscription requires additional user action before it can be completed successfully.')
    }
  }
  const status = trialing ? 'trialing' : dueToday === 0 || predicted === 'succeeds' || input.fromSchedule ? 'active' : 'incomplete'
  const sub = buildSubscription(ctx, {
    customer,
    lines: input.lines,
    metadata: input.metadata,
    status,
    trialEnd: trialing ? input.trialEnd : null,
    fields: { default_payment_method: input.paymentMethod?.id ?? null, ...input.fields }
  })
  ctx.store.put('subscriptions', sub)
  for (const redemption of input.discounts ?? []) {
    const discount = createDiscount(ctx, redemption, { customer: customer.id, subscription: sub.id, start: now })
    sub.discounts.push(discount.id)
    ctx.emit('customer.discount.created', discount, { request })
  }
  const item = sub.items.data[0]
  // The first invoice exists when the subscription is announced: its event names it as latest_invoice.
  const invoice = createInvoice(ctx, {
    customer,
    sub,
    billingReason: 'subscription_create',
    periodStart: now,
    periodEnd: now,
    items: { period: { start: item.current_period_start, end: item.current_period_end }, trial: trialing },
    pending: extras
  })
  ctx.emit('customer.subscription.created', sub, { request })
  if (trialing && trialNoticeDue(ctx, sub)! <= now) sendTrialNotice(ctx, sub, request)
  ctx.emit('invoice.created', invoice, { request })
  finalizeInvoice(ctx, invoice, request)
  if (!charging && dueToday > 0) {
    // default_incomplete: the PaymentIntent waits for the client to confirm it.
    const pi = paymentIntentOf(ctx, invoice)
    if (pi && pm) Object.assign(pi, { payment_method: pm.id, status: 'requires_confirmation' })
    return sub
  }
  payInvoice(ctx, invoice, { paymentMethod: pm ?? undefined, request, customerPresent: input.customerPresent })
  return sub
}
