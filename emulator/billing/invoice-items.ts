import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export interface InvoiceItemInput {
  customer: Obj
  amount: number
  currency: string
  quantity?: number
  description?: string | null
  price?: Obj
  sub?: Obj
  subscriptionItem?: string
  proration?: boolean
  period?: { start: number, end: number }
  metadata?: Record<string, string>
  invoice?: string | null
}

/** A pending invoice item: a proration, a one-off charge; the next invoice of its customer (or subscription) takes it. */
export function createInvoiceItem (ctx: Ctx, input: InvoiceItemInput): Obj {
  const now = ctx.now(input.customer)
  const quantity = input.quantity ?? 1
  const ii = fromTemplate(ctx.templates, 'invoiceItem', {
    amount: input.amount,
    currency: input.currency,
    customer: input.customer.id,
    date: now,
    description: input.description ?? null,
    discountable: !input.proration,
    id: newId('ii'),
    invoice: input.invoice ?? null,
    metadata: { ...(input.metadata ?? {}) },
    net_amount: input.amount,
    parent: input.sub
      ? { subscription_details: { subscription: input.sub.id, subscription_item: input.subscriptionItem ?? null }, type: 'subscription_details' }
      : null,
    period: input.period ?? { start: now, end: now },
    pricing: input.price
      ? { price_details: { price: input.price.id, product: input.price.product }, type: 'price_details', unit_amount_decimal: input.price.unit_amount_decimal }
      : { type: 'price_details', unit_amount_decimal: String(Math.round(input.amount / quantity)) },
    proration: input.proration ?? false,
    quantity,
    quantity_decimal: String(quantity),
    test_clock: input.customer.test_clock ?? null
  })
  ctx.store.put('invoiceitems', ii)
  return ii
}

/** A customer's pending items that belong to no subscription: what a one-off invoice takes. */
export function pendingCustomerItems (ctx: Ctx, customerId: string): Obj[] {
  return [...ctx.store.collections.invoiceitems.values()].filter((ii) => ii.customer === customerId && ii.invoice === null && !ii.parent)
}
