import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { addInterval } from './period.js'
import { badRequest, missing } from '../wire/errors.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'
import type { Params } from '../wire/form.js'
import type { DiscountTerms, TermsLookup } from './totals.js'

/** A coupon about to be redeemed, through a promotion code or directly. */
export interface Redemption {
  coupon: Obj
  promotionCode: Obj | null
}

/** A deleted coupon stays behind for the discounts made from it (Stripe keeps them working) but answers 404. */
export function getCoupon (ctx: Ctx, id: string, param = 'id'): Obj {
  const coupon = ctx.store.get('coupons', id)
  if (!coupon || ctx.store.internal(coupon.id).deleted) throw missing('coupon', id, param)
  return coupon
}

export function getPromotionCode (ctx: Ctx, id: string, param = 'id'): Obj {
  const promo = ctx.store.get('promotion_codes', id)
  if (!promo) throw missing('promotion_code', id, param)
  return promo
}

/** A coupon can be redeemed until `redeem_by` and while it has redemptions left; `valid` says so. */
export function couponValid (coupon: Obj, at: number): boolean {
  return (coupon.redeem_by === null || coupon.redeem_by > at) && (coupon.max_redemptions === null || coupon.times_redeemed < coupon.max_redemptions)
}

function checkCoupon (coupon: Obj, at: number, param: string): void {
  if (couponValid(coupon, at)) return
  const why = coupon.redeem_by !== null && coupon.redeem_by <= at ? 'it has expired' : 'it has reached its maximum number of redemptions'
  throw badRequest(`Coupon ${coupon.id} cannot be redeemed because ${why}.`, param, 'coupon_expired')
}

/** Whether the customer has paid anything before: what `restrictions.first_time_transaction` refuses. */
function hasTransactions (ctx: Ctx, customerId: string | null): boolean {
  if (!customerId) return false
  for (const charge of ctx.store.collections.charges.values()) if (charge.customer === customerId && charge.status === 'succeeded') return true
  return false
}

const refused = (why: string, param: string) => badRequest(`This promotion code cannot be redeemed because ${why}.`, param)

function checkPromotionCode (ctx: Ctx, promo: Obj, customerId: string | null, at: number, amount: number | null, param: string): void {
  if (!promo.active) throw refused('it is inactive', param)
  if (promo.expires_at !== null && promo.expires_at <= at) throw refused('it has expired', param)
  if (promo.max_redemptions !== null && promo.times_redeemed >= promo.max_redemptions) throw refused('it has reached its maximum number of redemptions', param)
  if (promo.customer && promo.customer !== customerId) throw refused('it belongs to another customer', param)
  if (promo.restrictions.first_time_transaction && hasTransactions(ctx, customerId)) throw refused('the associated customer has prior transactions', param)
  const minimum = promo.restrictions.minimum_amount
  if (minimum !== null && amount !== null && amount < minimum) throw refused(`the order amount is below its minimum amount of ${minimum}`, param)
}

export interface RedeemContext {
  customerId: string | null
  /** The time the redemption happens in (the customer's clock). */
  at: number
  /** What the discount would apply to, for promotion codes with a minimum amount (null: not known yet). */
  amount?: number | null
}

/** Validates a promotion code (by id) for a redemption: Stripe's 400 when it cannot be used. */
export function redeemPromotionCode (ctx: Ctx, id: string, param: string, rc: RedeemContext): Redemption {
  const promo = getPromotionCode(ctx, id, param)
  checkPromotionCode(ctx, promo, rc.customerId, rc.at, rc.amount ?? null, param)
  const coupon = getCoupon(ctx, promo.promotion.coupon, param)
  checkCoupon(coupon, rc.at, param)
  return { coupon, promotionCode: promo }
}

export function redeemCoupon (ctx: Ctx, id: string, param: string, rc: RedeemContext): Redemption {
  const coupon = getCoupon(ctx, id, param)
  checkCoupon(coupon, rc.at, param)
  return { coupon, promotionCode: null }
}

/** The active promotion code a customer types (codes are case-insensitive), or null. */
export function promotionCodeByCode (ctx: Ctx, code: string): Obj | null {
  const wanted = code.trim().toLowerCase()
  for (const promo of ctx.store.collections.promotion_codes.values()) if (promo.active && promo.code.toLowerCase() === wanted) return promo
  return null
}

/**
 * `discounts: [{coupon} | {promotion_code} | {discount}]` as subscriptions take it, validated before
 * anything is created. `{discount}` keeps a discount the object already has.
 */
export function redemptionsOf (ctx: Ctx, raw: unknown, param: string, rc: RedeemContext, existing: Obj[] = []): (Redemption | Obj)[] {
  if (raw === undefined || raw === '') return []
  const entries: Params[] = Array.isArray(raw) ? raw : []
  return entries.map((entry, i) => {
    const at = `${param}[${i}]`
    const given = ['coupon', 'promotion_code', 'discount'].filter((k) => entry[k] !== undefined && entry[k] !== '')
    if (given.length !== 1) throw badRequest('Each discount needs exactly one of coupon, promotion_code or discount.', at)
    if (entry.coupon) return redeemCoupon(ctx, String(entry.coupon), `${at}[coupon]`, rc)
    if (entry.promotion_code) return redeemPromotionCode(ctx, String(entry.promotion_code), `${at}[promotion_code]`, rc)
    const kept = existing.find((d) => d.id === entry.discount)
    if (!kept) throw missing('discount', String(entry.discount), `${at}[discount]`)
    return kept
  })
}

export interface DiscountTarget {
  customer: string | null
  subscription?: string | null
  checkoutSession?: string | null
  /** When the discount starts (its `end` for a repeating coupon counts from here). */
  start: number
}

/** A discount made from a redemption: the coupon (and promotion code) count one more redemption. */
export function createDiscount (ctx: Ctx, redemption: Redemption, target: DiscountTarget): Obj {
  const { coupon, promotionCode } = redemption
  const discount = fromTemplate(ctx.templates, 'discount', {
    checkout_session: target.checkoutSession ?? null,
    customer: target.customer,
    end: coupon.duration === 'repeating' ? addInterval(target.start, 'month', coupon.duration_in_months) : null,
    id: newId('di'),
    promotion_code: promotionCode?.id ?? null,
    source: { coupon: coupon.id, type: 'coupon' },
    start: target.start,
    subscription: target.subscription ?? null
  })
  ctx.store.put('discounts', discount)
  coupon.times_redeemed += 1
  coupon.valid = couponValid(coupon, target.start)
  if (promotionCode) promotionCode.times_redeemed += 1
  return discount
}

const isDiscount = (entry: Redemption | Obj): entry is Obj => 'object' in entry && entry.object === 'discount'

/** Discounts of a subscription (its own), else its customer's: what its invoices are discounted by. */
export function discountsFor (ctx: Ctx, customer: Obj, sub?: Obj | null): Obj[] {
  const own: string[] = sub?.discounts ?? []
  if (own.length > 0) return own.map((id) => ctx.store.get('discounts', id)).filter((d): d is Obj => Boolean(d))
  return customer.discount ? [customer.discount] : []
}

export const couponOf = (ctx: Ctx, discount: Obj): Obj | undefined => ctx.store.get('coupons', discount.source.coupon)

/** When the earliest repeating discount of a subscription (its own) or of a customer ends, if any. */
export function nextDiscountEnd (ctx: Ctx, owner: Obj): number | undefined {
  const discounts: Obj[] = owner.object === 'customer'
    ? (owner.discount ? [owner.discount] : [])
    : (owner.discounts as string[]).map((id) => ctx.store.get('discounts', id)).filter((d): d is Obj => Boolean(d))
  const ends = discounts.map((d) => d.end).filter((end): end is number => typeof end === 'number')
  return ends.length > 0 ? Math.min(...ends) : undefined
}

/** Repeating discounts whose months are over leave their subscription or customer (`customer.discount.deleted`). */
export function endDiscounts (ctx: Ctx, owner: Obj, at: number): void {
  if (owner.object === 'customer') setCustomerDiscount(ctx, owner, null)
  else dropSubscriptionDiscounts(ctx, owner, (d) => d.end !== null && d.end <= at)
}

/** Removes a subscription's discounts that `drop` picks, each with `customer.discount.deleted`. */
export function dropSubscriptionDiscounts (ctx: Ctx, sub: Obj, drop: (d: Obj) => boolean, request?: RequestInfo): Obj[] {
  const dropped = discountsFor(ctx, ctx.store.get('customers', sub.customer)!, sub).filter((d) => d.subscription === sub.id && drop(d))
  if (dropped.length === 0) return []
  sub.discounts = sub.discounts.filter((id: string) => !dropped.some((d) => d.id === id))
  for (const d of dropped) ctx.emit('customer.discount.deleted', d, { request })
  return dropped
}

/** Sets (or with null removes) a customer's own discount: `customer.discount.created|updated|deleted`. */
export function setCustomerDiscount (ctx: Ctx, customer: Obj, redemption: Redemption | null, request?: RequestInfo): void {
  const before = customer.discount
  if (!redemption) {
    if (!before) return
    customer.discount = null
    ctx.emit('customer.discount.deleted', before, { request })
    return
  }
  const discount = createDiscount(ctx, redemption, { customer: customer.id, start: ctx.now(customer) })
  customer.discount = discount
  if (before) ctx.emit('customer.discount.updated', discount, { request, previous: { source: before.source, promotion_code: before.promotion_code, start: before.start, end: before.end } })
  else ctx.emit('customer.discount.created', discount, { request })
}

/** What a coupon takes off, with its `applies_to` products. */
export const couponTerms = (ctx: Ctx, coupon: Obj): DiscountTerms =>
  ({ percent_off: coupon.percent_off, amount_off: coupon.amount_off, currency: coupon.currency, products: ctx.store.internal(coupon.id).appliesTo ?? null })

/** What each discount takes off, from its coupon (deleted or not). */
export function discountTerms (ctx: Ctx): TermsLookup {
  return (id) => {
    const discount = ctx.store.get('discounts', id)
    const coupon = discount && couponOf(ctx, discount)
    return coupon ? couponTerms(ctx, coupon) : undefined
  }
}

/** The discounts an invoice made now takes: the subscription's or customer's, minus those that have ended. */
export function discountsAt (ctx: Ctx, customer: Obj, sub: Obj | null | undefined, at: number): Obj[] {
  return discountsFor(ctx, customer, sub).filter((d) => d.end === null || d.end > at)
}

/**
 * A `once` coupon is spent by the first invoice it takes something off: its discount leaves the
 * subscription (or customer) with `customer.discount.deleted`.
 */
export function spendOnceDiscounts (ctx: Ctx, invoice: Obj, customer: Obj, sub: Obj | null | undefined, request?: RequestInfo): void {
  for (const { amount, discount: id } of invoice.total_discount_amounts as Obj[]) {
    const discount = ctx.store.get('discounts', id)
    if (!discount || amount <= 0 || couponOf(ctx, discount)?.duration !== 'once') continue
    if (sub && sub.discounts.includes(id)) dropSubscriptionDiscounts(ctx, sub, (d) => d.id === id, request)
    else if (customer.discount?.id === id) setCustomerDiscount(ctx, customer, null, request)
  }
}

/**
 * `discounts` of a subscription update: the list it should have from now on. `{discount}` entries keep
 * one it has; the others leave (`customer.discount.deleted`); coupons and promotion codes become new
 * discounts (`customer.discount.created`). Call `prepare` before changing anything, `apply` after.
 */
export function subscriptionDiscountsUpdate (ctx: Ctx, sub: Obj, raw: unknown): (request?: RequestInfo) => void {
  const existing = (sub.discounts as string[]).map((id) => ctx.store.get('discounts', id)).filter((d): d is Obj => Boolean(d))
  const wanted = redemptionsOf(ctx, raw, 'discounts', { customerId: sub.customer, at: ctx.now(sub) }, existing)
  return (request) => {
    const kept = new Set(wanted.filter(isDiscount).map((w) => w.id))
    dropSubscriptionDiscounts(ctx, sub, (d) => !kept.has(d.id), request)
    for (const w of wanted) {
      if (isDiscount(w)) continue
      const discount = createDiscount(ctx, w, { customer: sub.customer, subscription: sub.id, start: ctx.now(sub) })
      sub.discounts.push(discount.id)
      ctx.emit('customer.discount.created', discount, { request })
    }
  }
}
