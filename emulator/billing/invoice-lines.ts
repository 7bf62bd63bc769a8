import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

function money (amount: number, currency: string): string {
  return `${currency === 'usd' ? '$' : ''}${(amount / 100).toFixed(2)}${currency === 'usd' ? '' : ` ${currency.toUpperCase()}`}`
}

export function productName (ctx: Ctx, productId: string): string {
  return ctx.store.get('products', productId)?.name ?? productId
}

/** A subscription item's line for one period; `trial` bills nothing for it, as a trial's invoice does. */
export function lineForItem (ctx: Ctx, sub: Obj, item: Obj, period: { start: number, end: number }, trial = false): Obj {
  const price = item.price
  const amount = trial ? 0 : price.unit_amount * item.quantity
  const name = productName(ctx, price.product)
  return fromTemplate(ctx.templates, 'invoiceLine', {
    amount,
    currency: price.currency,
    description: trial
      ? `Trial period for ${name}`
      : `${item.quantity} × ${name} (at ${money(price.unit_amount, price.currency)} / ${price.recurring?.interval ?? 'month'})`,
    discountable: true,
    id: newId('il'),
    metadata: {},
    parent: {
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: false,
        proration_details: { credited_items: null },
        subscription: sub.id,
        subscription_item: item.id
      },
      type: 'subscription_item_details'
    },
    period: { ...period },
    pricing: { price_details: { price: price.id, product: price.product }, type: 'price_details', unit_amount_decimal: trial ? '0' : price.unit_amount_decimal },
    quantity: item.quantity,
    quantity_decimal: String(item.quantity),
    subscription: sub.id,
    subtotal: amount
  })
}

/** A pending invoice item becomes a line of the invoice that takes it. */
export function lineForInvoiceItem (ctx: Ctx, ii: Obj): Obj {
  const details = ii.parent?.subscription_details
  const parent = details
    ? {
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: ii.id,
          proration: ii.proration,
          proration_details: ii.proration_details ?? { credited_items: null },
          subscription: details.subscription,
          subscription_item: details.subscription_item ?? null
        },
        type: 'subscription_item_details'
      }
    : {
        invoice_item_details: { invoice_item: ii.id, proration: ii.proration, proration_details: { credited_items: null }, subscription: null },
        subscription_item_details: null,
        type: 'invoice_item_details'
      }
  return fromTemplate(ctx.templates, 'invoiceLine', {
    amount: ii.amount,
    currency: ii.currency,
    description: ii.description,
    discountable: ii.discountable,
    id: newId('il'),
    metadata: { ...ii.metadata },
    parent,
    period: { ...ii.period },
    pricing: structuredClone(ii.pricing),
    quantity: ii.quantity,
    quantity_decimal: String(ii.quantity),
    subscription: details?.subscription ?? null,
    subtotal: ii.amount
  })
}
