import { confirmPaymentIntent, type IntentOutcome } from './intents.js'
import { defaultPaymentMethod } from './payment-methods.js'
import { markPaid, paymentIntentOf, subscriptionIdOf } from './invoices.js'
import { afterInvoicePayment } from './subscription-status.js'
import { NO_REQUEST, type RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export type PaymentOutcome = IntentOutcome | 'no_payment_method'

export interface PayOptions {
  paymentMethod?: Obj
  request?: RequestInfo
  /** The customer is paying on a page right now (Checkout): the fail-payments flag does not apply. */
  customerPresent?: boolean
}

/**
 * Stripe retries a failed invoice of a running subscription on the account's schedule; the first
 * invoice of an `incomplete` subscription (which expires instead) and one-off invoices are not retried.
 */
function scheduleRetry (ctx: Ctx, invoice: Obj): void {
  const sub = ctx.store.get('subscriptions', subscriptionIdOf(invoice) ?? '')
  if (!invoice.auto_advance || sub?.status === 'incomplete') {
    invoice.next_payment_attempt = null
    return
  }
  const wait = ctx.settings.retryScheduleDays[invoice.attempt_count - 1]
  invoice.next_payment_attempt = wait === undefined ? null : ctx.now(invoice) + wait * 86_400
  ctx.store.internal(invoice.id).retriesExhausted = wait === undefined
}

/** What a payment attempt's outcome does to the invoice (and through it, to its subscription). */
export function recordPaymentOutcome (ctx: Ctx, invoice: Obj, outcome: PaymentOutcome, request: RequestInfo = NO_REQUEST): void {
  if (outcome === 'succeeded') {
    markPaid(ctx, invoice, request)
  } else if (outcome === 'requires_action') {
    scheduleRetry(ctx, invoice)
    ctx.emit('invoice.payment_action_required', invoice, { request })
  } else if (outcome !== 'processing') {
    scheduleRetry(ctx, invoice)
    ctx.emit('invoice.payment_failed', invoice, { request })
  }
  afterInvoicePayment(ctx, invoice, outcome, request)
}

/** One payment attempt on an open invoice, with the default payment method unless one is given. */
export function payInvoice (ctx: Ctx, invoice: Obj, opts: PayOptions = {}): PaymentOutcome {
  invoice.attempt_count += 1
  invoice.attempted = true
  const pi = paymentIntentOf(ctx, invoice)
  let outcome: PaymentOutcome = 'succeeded'
  if (invoice.amount_remaining > 0 && pi) {
    const sub = ctx.store.get('subscriptions', subscriptionIdOf(invoice) ?? '')
    const own = invoice.default_payment_method ? ctx.store.get('payment_methods', invoice.default_payment_method) : undefined
    const pm = opts.paymentMethod ?? own ?? defaultPaymentMethod(ctx, invoice.customer, sub)
    outcome = pm ? confirmPaymentIntent(ctx, pi, pm, { request: opts.request, customerPresent: opts.customerPresent }) : 'no_payment_method'
  }
  recordPaymentOutcome(ctx, invoice, outcome, opts.request)
  return outcome
}
