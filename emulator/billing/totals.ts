import type { Obj } from '../store.js'

/** What a discount takes off, as its coupon says (`products`: the coupon's `applies_to`, null for everything). */
export interface DiscountTerms {
  percent_off: number | null
  amount_off: number | null
  currency: string | null
  products: string[] | null
}

/** The terms of the discount with this id (undefined: it takes nothing). */
export type TermsLookup = (discountId: string) => DiscountTerms | undefined

const sum = (amounts: number[]) => amounts.reduce((a, b) => a + b, 0)
const left = (line: Obj) => line.amount - sum(line.discount_amounts.map((d: Obj) => d.amount))
const productOf = (line: Obj): string | null => line.pricing?.price_details?.product ?? null

/** Splits `amount` over `weights` in proportion, whole cents that add up exactly (largest remainders get the odd cents). */
function spread (amount: number, weights: number[]): number[] {
  const total = sum(weights)
  const taken = Math.min(amount, total)
  if (total <= 0) return weights.map(() => 0)
  const exact = weights.map((w) => (taken * w) / total)
  const shares = exact.map(Math.floor)
  const order = exact.map((e, i) => [e - shares[i]!, i] as const).sort((a, b) => b[0] - a[0])
  for (let k = 0; k < taken - sum(shares); k++) shares[order[k]![1]] += 1
  return shares
}

/**
 * Takes one discount off the lines it applies to, each from what earlier discounts left of it, and
 * records it in each line's `discount_amounts`. A percentage comes off every such line; an amount is
 * shared among them and never takes more than they hold. Returns what it took.
 */
export function takeDiscount (lines: Obj[], terms: DiscountTerms, discountId: string | null, currency: string): number {
  if (terms.amount_off !== null && terms.currency !== currency) return 0
  const eligible = lines.filter((l) => l.discountable && left(l) > 0 && (terms.products === null || terms.products.includes(productOf(l) ?? '')))
  const amounts = terms.percent_off !== null
    ? eligible.map((l) => Math.round((left(l) * terms.percent_off!) / 100))
    : spread(terms.amount_off ?? 0, eligible.map(left))
  eligible.forEach((l, i) => l.discount_amounts.push({ amount: amounts[i], discount: discountId }))
  return sum(amounts)
}

/**
 * Every amount of an invoice, computed from its lines and its `discounts` in one place: each line's
 * `discount_amounts`, the invoice's `total_discount_amounts`, then subtotal, total and what is due.
 */
export function applyTotals (invoice: Obj, termsOf: TermsLookup = () => undefined): Obj {
  const lines: Obj[] = invoice.lines.data
  for (const line of lines) line.discount_amounts = []
  invoice.total_discount_amounts = (invoice.discounts as string[]).map((id) => {
    const terms = termsOf(id)
    return { amount: terms ? takeDiscount(lines, terms, id, invoice.currency) : 0, discount: id }
  })
  const subtotal = sum(lines.map((l) => l.amount))
  const total = subtotal - sum(invoice.total_discount_amounts.map((d: Obj) => d.amount))
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
