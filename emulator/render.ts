import { newId } from './ids.js'
import { fromTemplate } from './templates.js'
import { planFromPrice } from './billing/build.js'
import { upfrontAmount } from './billing/pricing.js'
import { checkoutTotals } from './billing/checkout.js'
import type { Ctx } from './context.js'
import type { Obj } from './store.js'

/**
 * Embedded objects are shown as they are now, as Stripe renders them: a subscription item's price
 * and plan come from the price itself when the item is read or sent in an event, never from a copy
 * taken when the subscription was made. Works in place on a copy that is about to leave the emulator.
 */
export function renderTree<T> (ctx: Ctx, node: T): T {
  if (Array.isArray(node)) {
    for (const el of node) renderTree(ctx, el)
  } else if (node && typeof node === 'object') {
    const obj = node as Obj
    if (obj.object === 'subscription_item' && obj.price) {
      const id = typeof obj.price === 'string' ? obj.price : obj.price.id
      const current = ctx.store.get('prices', id)
      if (current) {
        const expandedProduct = typeof obj.price === 'object' && typeof obj.price.product === 'object' ? obj.price.product : null
        obj.price = { ...structuredClone(current), ...(expandedProduct && { product: expandedProduct }) }
        obj.plan = planFromPrice(ctx, current)
      }
    }
    for (const value of Object.values(obj)) if (value && typeof value === 'object') renderTree(ctx, value)
  }
  return node
}

/** A Checkout Session's line items (`GET …/line_items`, `expand[]=line_items`), each with its price as it is now. */
export function checkoutLineItems (ctx: Ctx, session: Obj): Obj[] {
  const details = ctx.store.sessionDetails.get(session.id)
  const discounts = checkoutTotals(ctx, session).lines
  return (details?.lineItems ?? []).map((li, i) => {
    const price = ctx.store.get('prices', li.price)!
    const amount = upfrontAmount(ctx, price, li.quantity)
    const discount = discounts[i]?.discount ?? 0
    return fromTemplate(ctx.templates, 'checkoutItem', {
      amount_discount: discount,
      amount_subtotal: amount,
      amount_total: amount - discount,
      currency: price.currency,
      description: ctx.store.get('products', price.product)?.name ?? price.nickname ?? price.id,
      id: li.id ?? newId('li'),
      price: structuredClone(price),
      quantity: li.quantity
    })
  })
}
