import { randomToken } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { updateAndEmit } from '../events.js'
import { couponValid, getCoupon } from '../billing/discounts.js'
import { badRequest } from '../wire/errors.js'
import { mergeMetadata, nullable, toInt, toList, type Params } from '../wire/form.js'
import { listEnvelope, matchesRange } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { getProduct } from './products.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

function discountOf (p: Params): { percent_off: number | null, amount_off: number | null, currency: string | null } {
  const percent = p.percent_off === undefined || p.percent_off === '' ? undefined : Number(p.percent_off)
  const amount = toInt(p.amount_off)
  if ((percent === undefined) === (amount === undefined)) throw badRequest('A coupon needs exactly one of `percent_off` or `amount_off`.', 'percent_off')
  if (percent !== undefined) {
    if (!(percent > 0 && percent <= 100)) throw badRequest('`percent_off` must be greater than 0 and at most 100.', 'percent_off')
    return { percent_off: percent, amount_off: null, currency: null }
  }
  if (!(amount! > 0)) throw badRequest('`amount_off` must be a positive integer.', 'amount_off')
  if (!p.currency) throw badRequest('`currency` is required when `amount_off` is set.', 'currency', 'parameter_missing')
  return { percent_off: null, amount_off: amount!, currency: String(p.currency).toLowerCase() }
}

function durationOf (p: Params): { duration: string, duration_in_months: number | null } {
  const duration = String(p.duration ?? 'once')
  const months = toInt(p.duration_in_months)
  if (duration === 'repeating') {
    if (!(months! > 0)) throw badRequest('`duration_in_months` is required and must be positive when `duration` is `repeating`.', 'duration_in_months')
    return { duration, duration_in_months: months! }
  }
  if (months !== undefined) throw badRequest('`duration_in_months` can only be set when `duration` is `repeating`.', 'duration_in_months')
  return { duration, duration_in_months: null }
}

function createCoupon (ctx: Ctx, p: Params, request: RequestInfo): Obj {
  const now = ctx.now()
  const id = nullable(p.id) ?? randomToken(8).toUpperCase()
  if (ctx.store.get('coupons', id)) throw badRequest('Coupon already exists.', 'id', 'resource_already_exists')
  const redeemBy = toInt(p.redeem_by) ?? null
  if (redeemBy !== null && redeemBy <= now) throw badRequest('`redeem_by` must be in the future.', 'redeem_by')
  const maxRedemptions = toInt(p.max_redemptions) ?? null
  if (maxRedemptions !== null && maxRedemptions < 1) throw badRequest('`max_redemptions` must be a positive integer.', 'max_redemptions')
  const products = p.applies_to ? toList(p.applies_to.products).map((prod, i) => getProduct(ctx, prod, `applies_to[products][${i}]`).id) : null
  const coupon = fromTemplate(ctx.templates, 'coupon', {
    ...discountOf(p),
    ...durationOf(p),
    created: now,
    id,
    max_redemptions: maxRedemptions,
    metadata: mergeMetadata({}, p.metadata),
    name: nullable(p.name) ?? null,
    redeem_by: redeemBy,
    times_redeemed: 0,
    valid: true
  })
  ctx.store.put('coupons', coupon)
  if (products) ctx.store.internal(id).appliesTo = products
  ctx.emit('coupon.created', coupon, { request })
  return coupon
}

/** `valid` as of now: a coupon past `redeem_by` turns invalid without anyone touching it. */
function current (ctx: Ctx, coupon: Obj): Obj {
  coupon.valid = couponValid(coupon, ctx.now())
  return coupon
}

const live = (ctx: Ctx) => ctx.store.newestFirst('coupons').filter((c) => !ctx.store.internal(c.id).deleted)

export const couponRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/coupons',
    params: {
      id: P.str,
      amount_off: P.int,
      applies_to: P.obj({ products: P.arr(P.str) }),
      currency: P.str,
      duration: P.enum('forever', 'once', 'repeating'),
      duration_in_months: P.int,
      max_redemptions: P.int,
      metadata: P.map,
      name: P.str,
      percent_off: P.num,
      redeem_by: P.int
    },
    handler: (ctx, req) => createCoupon(ctx, req.body, req.request)
  },
  { method: 'GET', path: '/v1/coupons/:id', params: {}, handler: (ctx, req) => current(ctx, getCoupon(ctx, req.params.id)) },
  {
    method: 'POST',
    path: '/v1/coupons/:id',
    params: { metadata: P.map, name: P.str },
    handler: (ctx, req) => updateAndEmit(ctx, 'coupon.updated', current(ctx, getCoupon(ctx, req.params.id)), (c) => {
      if (req.body.name !== undefined) c.name = nullable(req.body.name)
      c.metadata = mergeMetadata(c.metadata, req.body.metadata)
    }, req.request)
  },
  {
    // Discounts already made keep working (their coupon stays behind); nobody can redeem it again.
    method: 'DELETE',
    path: '/v1/coupons/:id',
    params: {},
    handler: (ctx, req) => {
      const coupon = getCoupon(ctx, req.params.id)
      ctx.store.internal(coupon.id).deleted = true
      ctx.emit('coupon.deleted', coupon, { request: req.request })
      return { id: coupon.id, object: 'coupon', deleted: true }
    }
  },
  {
    method: 'GET',
    path: '/v1/coupons',
    params: { ...LIST_PARAMS, created: P.range },
    handler: (ctx, req) => listEnvelope(live(ctx).filter((c) => matchesRange(c.created, req.body.created)).map((c) => current(ctx, c)), req.body, '/v1/coupons', 'coupon')
  }
]
