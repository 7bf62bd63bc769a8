import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { amountFor, isMetered } from './pricing.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

function money (amount: number, currency: string): string {
  return `${currency === 'usd' ? '$' : ''}${(amount / 100).toFixed(2)}${currency === 'usd' ? '' : ` ${currency.toUpperCase()}`}`
}

export function productName (ctx: Ctx, productId: string): string {
  return ctx.store.get('products', productId)?.name ?? productId
}

function perUnit (ctx: Ctx, price: Obj): string {
  if (price.billing_scheme === 'tiered') return `${price.tiers_mode} tiers`
  const unit = Number(price.unit_amount_decimal)
  const per = price.transform_quantity ? ` per ${price.transform_quantity.divide_by}` : ''
  return `${Number.isInteger(unit) ? money(unit, price.currency) : `${unit}¢`}${per}`
}

/**
 * A subscription item's line for one period. A licensed item bills its quantity for the period ahead
 * (nothing in a `trial`); a metered item bills `usage`, the quantity its meter counted over the period
 * that just ended, which is the line's period then (none yet: a line of 0 for the period ahead).
 */
export function lineForItem (ctx: Ctx, sub: Obj, item: Obj, period: { start: number, end: number }, trial = false, usage?: { quantity: number, period: { start: number, end: number } }): Obj {
  const price = item.price
  const metered = isMetered(price)
  const quantity = metered ? usage?.quantity ?? 0 : item.quantity
  const amount = trial ? 0 : amountFor(ctx, price, Math.max(0, quantity))
  const name = productName(ctx, price.product)
  return fromTemplate(ctx.templates, 'invoiceLine', {
    amount,
    currency: price.currency,
    description: trial
      ? `Trial period for ${name}`
      : `${quantity} × ${name} (at ${perUnit(ctx, price)} / ${price.recurring?.interval ?? 'month'})`,
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
    period: { ...(metered && usage ? usage.period : period) },
    pricing: { price_details: { price: price.id, product: price.product }, type: 'price_details', unit_amount_decimal: trial ? '0' : price.unit_amount_decimal },
    quantity,
    quantity_decimal: String(quantity),
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
