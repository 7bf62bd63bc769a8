import { badRequest, paramMissing } from '../wire/errors.js'
import { toInt, type Params } from '../wire/form.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export const isMetered = (price: Obj): boolean => price.recurring?.usage_type === 'metered'

/** One tier of a tiered price, as `expand[]=tiers` shows it (`up_to: null` is the last, unbounded one). */
export interface Tier {
  flat_amount: number | null
  flat_amount_decimal: string | null
  unit_amount: number | null
  unit_amount_decimal: string | null
  up_to: number | null
}

/** A price's tiers, kept beside it: Stripe shows them only when asked (`expand[]=tiers`). */
export const tiersOf = (ctx: Ctx, price: Obj): Tier[] => ctx.store.internal(price.id).tiers ?? []

const decimal = (v: string | null | undefined): number => (v === null || v === undefined ? 0 : Number(v))

function tierFrom (raw: Params, i: number, last: boolean): Tier {
  const param = `tiers[${i}]`
  if (raw.up_to === undefined) throw paramMissing(`${param}[up_to]`)
  const upTo = raw.up_to === 'inf' ? null : toInt(raw.up_to)
  if (upTo === undefined || (upTo === null) !== last) throw badRequest('Every tier but the last needs an integer `up_to`; the last one `up_to=inf`.', `${param}[up_to]`)
  const unit = raw.unit_amount_decimal ?? (raw.unit_amount === undefined ? null : String(toInt(raw.unit_amount)))
  const flat = raw.flat_amount_decimal ?? (raw.flat_amount === undefined ? null : String(toInt(raw.flat_amount)))
  if (unit === null && flat === null) throw badRequest('Each tier needs a `unit_amount` or a `flat_amount`.', param)
  const whole = (v: string | null) => (v !== null && Number.isInteger(Number(v)) ? Number(v) : null)
  return { flat_amount: whole(flat), flat_amount_decimal: flat, unit_amount: whole(unit), unit_amount_decimal: unit, up_to: upTo }
}

/** `tiers[]` of a price create, checked as Stripe does: ascending bounds, the last one unbounded. */
export function tiersFrom (raw: unknown): Tier[] {
  const list: Params[] = Array.isArray(raw) ? raw : []
  if (list.length === 0) throw paramMissing('tiers')
  const tiers = list.map((t, i) => tierFrom(t, i, i === list.length - 1))
  for (let i = 1; i < tiers.length - 1; i++) {
    if (tiers[i]!.up_to! <= tiers[i - 1]!.up_to!) throw badRequest('Tiers must be in ascending order of `up_to`.', `tiers[${i}][up_to]`)
  }
  return tiers
}

function tieredAmount (tiers: Tier[], mode: string, quantity: number): number {
  if (mode === 'volume') {
    const tier = tiers.find((t) => t.up_to === null || quantity <= t.up_to)!
    return quantity * decimal(tier.unit_amount_decimal) + (quantity > 0 ? decimal(tier.flat_amount_decimal) : 0)
  }
  let amount = 0
  let floor = 0
  for (const tier of tiers) {
    const units = Math.max(0, Math.min(quantity, tier.up_to ?? Infinity) - floor)
    if (units > 0) amount += units * decimal(tier.unit_amount_decimal) + decimal(tier.flat_amount_decimal)
    if (tier.up_to === null || quantity <= tier.up_to) break
    floor = tier.up_to
  }
  return amount
}

/**
 * What `quantity` units of a price cost, in whole cents: per unit (after `transform_quantity`, which
 * bills per block of `divide_by` units, rounded up or down) or by its tiers (graduated or volume).
 * Unit amounts may be fractions of a cent (`unit_amount_decimal`); the total is rounded once.
 */
export function amountFor (ctx: Ctx, price: Obj, quantity: number): number {
  if (price.billing_scheme === 'tiered') return Math.round(tieredAmount(tiersOf(ctx, price), price.tiers_mode, quantity))
  const transform = price.transform_quantity
  const units = transform ? (transform.round === 'up' ? Math.ceil : Math.floor)(quantity / transform.divide_by) : quantity
  return Math.round(units * decimal(price.unit_amount_decimal))
}


/** What a line of a price costs when billed in advance: metered prices bill in arrears, nothing up front. */
export const upfrontAmount = (ctx: Ctx, price: Obj, quantity: number): number => (isMetered(price) ? 0 : amountFor(ctx, price, quantity))

/** A metered item has no quantity (its meter counts it); any other item's quantity is a whole number of at least 0. */
export function itemQuantity (price: Obj, raw: unknown, param: string): number | undefined {
  const quantity = toInt(raw)
  if (quantity === undefined) return undefined
  if (isMetered(price)) throw badRequest('A metered price takes no quantity: its meter counts the usage. Remove `quantity`.', param)
  if (quantity < 0) throw badRequest('Quantity must be zero or more.', param)
  return quantity
}
