import { createInvoiceItem } from './invoice-items.js'
import { createInvoice, finalizeInvoice, pendingItemsOf } from './invoices.js'
import { payInvoice } from './invoice-payments.js'
import { productName } from './invoice-lines.js'
import { planFromPrice } from './build.js'
import { amountFor, isMetered } from './pricing.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

function day (ts: number): string {
  return new Date(ts * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })
}

// Swaps an item's price in place (same item id, as Stripe does) and, depending on
// proration_behavior, credits the unused time and charges the remainder on the new price.
export function changeItemPrice (ctx: Ctx, sub: Obj, item: Obj, newPrice: Obj, quantity: number, behavior: string): Obj[] {
  const oldPrice = item.price
  const oldQuantity = item.quantity
  item.price = newPrice
  item.plan = planFromPrice(ctx, newPrice)
  if (isMetered(newPrice)) delete item.quantity
  else item.quantity = quantity
  if (behavior === 'none' || sub.status === 'trialing' || isMetered(oldPrice) || isMetered(newPrice)) return []
  const now = ctx.now(sub)
  const { current_period_start: start, current_period_end: end } = item
  const fraction = end > start ? Math.max(0, Math.min(1, (end - now) / (end - start))) : 0
  const customer = ctx.store.get('customers', sub.customer)!
  const proration = (price: Obj, qty: number, amount: number, description: string) => createInvoiceItem(ctx, {
    customer, sub, subscriptionItem: item.id, price, quantity: qty, amount, currency: price.currency, description, proration: true, period: { start: now, end }
  })
  return [
    proration(oldPrice, oldQuantity, -Math.round(amountFor(ctx, oldPrice, oldQuantity) * fraction), `Unused time on ${productName(ctx, oldPrice.product)} after ${day(now)}`),
    proration(newPrice, quantity, Math.round(amountFor(ctx, newPrice, quantity) * fraction), `Remaining time on ${productName(ctx, newPrice.product)} after ${day(now)}`)
  ]
}

// `always_invoice` bills the prorations right away instead of on the next renewal.
export function invoiceNow (ctx: Ctx, sub: Obj, request: RequestInfo): Obj {
  const now = ctx.now(sub)
  const customer = ctx.store.get('customers', sub.customer)!
  const invoice = createInvoice(ctx, { customer, sub, billingReason: 'subscription_update', periodStart: now, periodEnd: now, pending: pendingItemsOf(ctx, sub.id) })
  ctx.emit('invoice.created', invoice, { request })
  finalizeInvoice(ctx, invoice, request)
  payInvoice(ctx, invoice, { request })
  return invoice
}
