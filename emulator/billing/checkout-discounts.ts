import { badRequest } from '../wire/errors.js'
import { couponTerms, promotionCodeByCode, redeemCoupon, redeemPromotionCode, type Redemption } from './discounts.js'
import { takeDiscount } from './totals.js'
import { upfrontAmount } from './pricing.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'
import type { Params } from '../wire/form.js'

export interface SessionLine {
  price: Obj
  quantity: number
}

export interface SessionTotals {
  subtotal: number
  discount: number
  total: number
  /** What each line costs today and what the discounts take off it, in line order. */
  lines: { amount: number, discount: number }[]
}

/** A Checkout Session's `discounts` entries as redemptions, checked for its customer and amount. */
export function sessionRedemptions (ctx: Ctx, session: Obj, amount: number | null): Redemption[] {
  const rc = { customerId: session.customer as string | null, at: ctx.now(session.customer), amount }
  return (session.discounts as Obj[]).map((d, i) => d.coupon
    ? redeemCoupon(ctx, d.coupon, `discounts[${i}][coupon]`, rc)
    : redeemPromotionCode(ctx, d.promotion_code, `discounts[${i}][promotion_code]`, rc))
}

/** `discounts` of a session create: one entry of a coupon or a promotion code, checked now as Stripe does. */
export function sessionDiscounts (ctx: Ctx, raw: unknown, customerId: string | null, at: number): Obj[] {
  const entries: Params[] = Array.isArray(raw) ? raw : []
  if (entries.length > 1) throw badRequest('A Checkout Session takes at most one discount.', 'discounts')
  return entries.map((d, i) => {
    if (Boolean(d.coupon) === Boolean(d.promotion_code)) throw badRequest('Each discount needs exactly one of coupon or promotion_code.', `discounts[${i}]`)
    const rc = { customerId, at }
    if (d.coupon) redeemCoupon(ctx, String(d.coupon), `discounts[${i}][coupon]`, rc)
    else redeemPromotionCode(ctx, String(d.promotion_code), `discounts[${i}][promotion_code]`, rc)
    return { coupon: d.coupon ? String(d.coupon) : null, promotion_code: d.promotion_code ? String(d.promotion_code) : null }
  })
}

/**
 * What the session charges today, line by line, with its discount taken off: `dueNow` says which
 * lines are billed today (not recurring prices during a trial), metered prices bill nothing up front.
 */
export function sessionTotals (ctx: Ctx, session: Obj, lines: SessionLine[], dueNow: (line: SessionLine) => boolean): SessionTotals {
  const virtual = lines.map((l) => ({
    amount: dueNow(l) ? upfrontAmount(ctx, l.price, l.quantity) : 0,
    discountable: true,
    discount_amounts: [] as Obj[],
    pricing: { price_details: { price: l.price.id, product: l.price.product } }
  }))
  for (const d of session.discounts as Obj[]) {
    const couponId = d.coupon ?? ctx.store.get('promotion_codes', d.promotion_code)?.promotion.coupon
    const coupon = ctx.store.get('coupons', couponId ?? '')
    if (coupon) takeDiscount(virtual, couponTerms(ctx, coupon), null, session.currency ?? 'usd')
  }
  const perLine = virtual.map((v) => ({ amount: v.amount, discount: v.discount_amounts.reduce((sum, a) => sum + a.amount, 0) }))
  const subtotal = perLine.reduce((sum, l) => sum + l.amount, 0)
  const discount = perLine.reduce((sum, l) => sum + l.discount, 0)
  return { subtotal, discount, total: subtotal - discount, lines: perLine }
}

/**
 * A promotion code the customer types on the hosted page (`allow_promotion_codes`): an unknown,
 * inactive, expired or used-up code is refused and the session stays as it was.
 */
export function applyEnteredCode (ctx: Ctx, session: Obj, code: string, amount: number): void {
  if (!session.allow_promotion_codes) throw badRequest('This Checkout Session does not accept promotion codes.', 'promotion_code')
  const promo = promotionCodeByCode(ctx, code)
  if (!promo) throw badRequest('This code is invalid.', 'promotion_code', 'resource_missing')
  redeemPromotionCode(ctx, promo.id, 'promotion_code', { customerId: session.customer, at: ctx.now(session.customer), amount })
  session.discounts = [{ coupon: null, promotion_code: promo.id }]
}
