import type { Obj } from '../store.js'

/**
 * Every amount of an invoice, computed from its lines in one place. Discounts (coupons, promotion
 * codes) belong here: fill each discountable line's `discount_amounts` and `total_discount_amounts`
 * before the total is taken, and the rest of the invoice follows.
 */
export function applyTotals (invoice: Obj): Obj {
  const lines: Obj[] = invoice.lines.data
  const subtotal = lines.reduce((sum, l) => sum + l.amount, 0)
  const discount = (invoice.total_discount_amounts as Obj[]).reduce((sum, d) => sum + d.amount, 0)
  const total = subtotal - discount
  const due = Math.max(0, total)
  Object.assign(invoice, {
    subtotal,
    subtotal_excluding_tax: subtotal,
    total,
    total_excluding_tax: total,
    amount_due: due,
    amount_remaining: due - invoice.amount_paid
  })
  return invoice
}
