import { invoicePaymentOf, paymentIntentOf } from '../billing/invoices.js'
import { checkoutLineItems } from '../render.js'
import { tiersOf } from '../billing/pricing.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

/**
 * Fields Stripe leaves out of an object unless `expand[]` names them (an invoice's `payments`, a price's
 * `tiers`, a coupon's `applies_to`). `payment_intent` on an invoice is the field of API versions before
 * 2025-03-31.basil, still taken by `expand[]=latest_invoice.payment_intent`.
 */
export function includable (ctx: Ctx, node: Obj, field: string): unknown {
  if (node.object === 'invoice') {
    const invoice = ctx.store.get('invoices', node.id)
    if (!invoice) return undefined
    if (field === 'payments') {
      const payment = invoicePaymentOf(ctx, invoice)
      return { object: 'list', data: payment ? [structuredClone(payment)] : [], has_more: false, url: `/v1/invoice_payments?invoice=${invoice.id}` }
    }
    const pi = paymentIntentOf(ctx, invoice)
    if (field === 'confirmation_secret') return pi && invoice.status === 'open' ? { client_secret: pi.client_secret, type: 'payment_intent' } : null
    if (field === 'payment_intent') return pi?.id ?? null
  }
  if ((node.object === 'price' || node.object === 'plan') && field === 'tiers') {
    const price = ctx.store.get('prices', node.id)
    return price ? (price.billing_scheme === 'tiered' ? structuredClone(tiersOf(ctx, price)) : null) : undefined
  }
  if (node.object === 'coupon' && field === 'applies_to' && ctx.store.get('coupons', node.id)) {
    return { products: [...(ctx.store.internal(node.id).appliesTo ?? [])] }
  }
  if (node.object === 'checkout.session' && field === 'line_items') {
    const session = ctx.store.get('checkout_sessions', node.id)
    if (!session) return undefined
    return { object: 'list', data: checkoutLineItems(ctx, session), has_more: false, url: `/v1/checkout/sessions/${session.id}/line_items` }
  }
  return undefined
}
