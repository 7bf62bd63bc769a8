import { newId } from '../ids.js'
import { planFromPrice } from './build.js'
import { attemptPayment, createInvoice, finalizeInvoice } from './invoices.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

function day (ts: number): string {
  return new Date(ts * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })
}

function prorationItem (ctx: Ctx, sub: Obj, item: Obj, price: Obj, amount: number, description: string, from: number): Obj {
  const ii: Obj = {
    id: newId('ii'),
    object: 'invoiceitem',
    amount,
    currency: price.currency,
    customer: sub.customer,
    customer_account: null,
    date: ctx.now(sub),
    description,
    discountable: false,
    discounts: [],
    invoice: null,
    livemode: false,
    metadata: {},
    net_amount: amount,
    parent: {
      subscription_details: { subscription: sub.id, subscription_item: item.id },
      type: 'subscription_details'
    },
    period: { start: from, end: item.current_period_end },
    pricing: { price_details: { price: price.id, product: price.product }, type: 'price_details', unit_amount_decimal: price.unit_amount_decimal },
    proration: true,
    proration_details: { credited_items: null },
    quantity: item.quantity,
    quantity_decimal: String(item.quantity),
    tax_rates: [],
    test_clock: sub.test_clock ?? null
  }
  ctx.store.put('invoiceitems', ii)
  return ii
}

// Swaps an item's price in place (same item id, as Stripe does) and, depending on
// proration_behavior, credits the unused time and charges the remainder on the new price.
export function changeItemPrice (ctx: Ctx, sub: Obj, item: Obj, newPrice: Obj, quantity: number, behavior: string, request: RequestInfo): Obj[] {
  const oldPrice = item.price
  const oldQuantity = item.quantity
  item.price = structuredClone(newPrice)
  item.plan = planFromPrice(ctx, newPrice)
  item.quantity = quantity
  if (behavior === 'none') return []
  const now = ctx.now(sub)
  const { current_period_start: start, current_period_end: end } = item
  const fraction = end > start ? Math.max(0, Math.min(1, (end - now) / (end - start))) : 0
  const productName = (p: Obj) => ctx.store.get('products', p.product)?.name ?? p.product
  const items = [
    prorationItem(ctx, sub, item, oldPrice, -Math.round(oldPrice.unit_amount * oldQuantity * fraction), `Unused time on ${productName(oldPrice)} after ${day(now)}`, now),
    prorationItem(ctx, sub, item, newPrice, Math.round(newPrice.unit_amount * quantity * fraction), `Remaining time on ${productName(newPrice)} after ${day(now)}`, now)
  ]
  return items
}

// `always_invoice` bills the prorations right away instead of on the next renewal.
export function invoiceNow (ctx: Ctx, sub: Obj, request: RequestInfo): Obj {
  const now = ctx.now(sub)
  const invoice = createInvoice(ctx, { sub, billingReason: 'subscription_update', periodStart: now, periodEnd: now, withItems: false })
  ctx.emit('invoice.created', invoice, { request })
  finalizeInvoice(ctx, invoice, request)
  attemptPayment(ctx, invoice, request)
  return invoice
}
