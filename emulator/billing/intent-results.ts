import { recordPaymentOutcome } from './invoice-payments.js'
import { purposeOf, type IntentOutcome } from './intents.js'
import { subscriptionIdOf } from './invoices.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

/**
 * A PaymentIntent of an invoice reached an outcome outside the billing engine's own attempt: the
 * client confirmed it (default_incomplete, 3-D Secure), or a bank debit settled. The invoice and its
 * subscription follow, and a subscription that saves its payment method keeps the one that paid.
 */
export function afterIntent (ctx: Ctx, pi: Obj, outcome: IntentOutcome, request?: RequestInfo): void {
  const invoice = ctx.store.get('invoices', purposeOf(ctx, pi).invoice ?? '')
  if (!invoice || invoice.status !== 'open') return
  if (outcome !== 'processing') {
    invoice.attempt_count += 1
    invoice.attempted = true
  }
  const sub = ctx.store.get('subscriptions', subscriptionIdOf(invoice) ?? '')
  if (outcome === 'succeeded' && sub && sub.payment_settings?.save_default_payment_method === 'on_subscription' && pi.payment_method) {
    const pm = ctx.store.get('payment_methods', pi.payment_method)
    if (pm && !pm.customer) {
      pm.customer = sub.customer
      ctx.emit('payment_method.attached', pm, { request })
    }
    sub.default_payment_method = pi.payment_method
  }
  recordPaymentOutcome(ctx, invoice, outcome, request)
}
