import { newId, randomToken } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { updateAndEmit } from '../events.js'
import { getCoupon, getPromotionCode } from '../billing/discounts.js'
import { badRequest, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, toInt, type Params } from '../wire/form.js'
import { listEnvelope, matchesRange } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { getCustomer } from './customers.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

const CODE = /^[a-zA-Z0-9]+$/

// Regardless of case, a code names one active promotion code at a time.
function claimCode (ctx: Ctx, code: string, self?: string): void {
  const taken = [...ctx.store.collections.promotion_codes.values()].some((p) => p.active && p.id !== self && p.code.toLowerCase() === code.toLowerCase())
  if (taken) throw badRequest(`An active promotion code with \`code: ${code}\` already exists.`, 'code', 'resource_already_exists')
}

function restrictionsOf (p: Params | undefined): Obj {
  const minimum = toInt(p?.minimum_amount) ?? null
  if (minimum !== null && !p?.minimum_amount_currency) throw paramMissing('restrictions[minimum_amount_currency]')
  return {
    first_time_transaction: toBool(p?.first_time_transaction) ?? false,
    minimum_amount: minimum,
    minimum_amount_currency: minimum === null ? null : String(p!.minimum_amount_currency).toLowerCase()
  }
}

function createPromotionCode (ctx: Ctx, p: Params, request: RequestInfo): Obj {
  // `promotion[coupon]` at the pinned version; `coupon` as requests of versions before 2025-09-30.clover (and the CLI's fixtures) send it.
  const couponId = p.promotion?.coupon ?? p.coupon
  if (!couponId) throw paramMissing('promotion[coupon]')
  const coupon = getCoupon(ctx, String(couponId), p.promotion ? 'promotion[coupon]' : 'coupon')
  const now = ctx.now()
  const code = nullable(p.code) ?? randomToken(8).toUpperCase()
  if (!CODE.test(code)) throw badRequest('A promotion code may only contain letters (a-z, A-Z) and digits (0-9).', 'code')
  const active = toBool(p.active) ?? true
  if (active) claimCode(ctx, code)
  const expiresAt = toInt(p.expires_at) ?? null
  if (expiresAt !== null && expiresAt <= now) throw badRequest('`expires_at` must be in the future.', 'expires_at')
  if (expiresAt !== null && coupon.redeem_by !== null && expiresAt > coupon.redeem_by) {
    throw badRequest("The promotion code's `expires_at` cannot be after its coupon's `redeem_by`.", 'expires_at')
  }
  const promo = fromTemplate(ctx.templates, 'promotionCode', {
    active,
    code,
    created: now,
    customer: p.customer ? getCustomer(ctx, String(p.customer), 'customer').id : null,
    expires_at: expiresAt,
    id: newId('promo'),
    max_redemptions: toInt(p.max_redemptions) ?? null,
    metadata: mergeMetadata({}, p.metadata),
    promotion: { coupon: coupon.id, type: 'coupon' },
    restrictions: restrictionsOf(p.restrictions),
    times_redeemed: 0
  })
  ctx.store.put('promotion_codes', promo)
  ctx.emit('promotion_code.created', promo, { request })
  return promo
}

const RESTRICTIONS = P.obj({ first_time_transaction: P.bool, minimum_amount: P.int, minimum_amount_currency: P.str })

export const promotionCodeRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/promotion_codes',
    params: {
      promotion: P.obj({ type: P.enum('coupon'), coupon: P.str }),
      coupon: P.str,
      active: P.bool,
      code: P.str,
      customer: P.str,
      expires_at: P.int,
      max_redemptions: P.int,
      metadata: P.map,
      restrictions: RESTRICTIONS
    },
    handler: (ctx, req) => createPromotionCode(ctx, req.body, req.request)
  },
  { method: 'GET', path: '/v1/promotion_codes/:id', params: {}, handler: (ctx, req) => getPromotionCode(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/promotion_codes/:id',
    params: { active: P.bool, metadata: P.map },
    handler: (ctx, req) => {
      const promo = getPromotionCode(ctx, req.params.id)
      const active = toBool(req.body.active)
      if (active && !promo.active) claimCode(ctx, promo.code, promo.id)
      return updateAndEmit(ctx, 'promotion_code.updated', promo, (o) => {
        if (active !== undefined) o.active = active
        o.metadata = mergeMetadata(o.metadata, req.body.metadata)
      }, req.request)
    }
  },
  {
    method: 'GET',
    path: '/v1/promotion_codes',
    params: { ...LIST_PARAMS, active: P.bool, code: P.str, coupon: P.str, customer: P.str, created: P.range },
    handler: (ctx, req) => {
      const q = req.body
      const active = toBool(q.active)
      const code = q.code ? String(q.code).toLowerCase() : undefined
      const items = ctx.store.newestFirst('promotion_codes').filter(
        (p) => (active === undefined || p.active === active) && (!code || p.code.toLowerCase() === code) &&
          (!q.coupon || p.promotion.coupon === q.coupon) && (!q.customer || p.customer === q.customer) && matchesRange(p.created, q.created)
      )
      return listEnvelope(items, q, '/v1/promotion_codes', 'promotion_code')
    }
  }
]
