import { planFromPrice } from '../billing/build.js'
import { previousAttributes } from '../events.js'
import { missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, toInt, type Params } from '../wire/form.js'
import { listEnvelope, matchesRange } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { PRODUCT_PARAMS } from './products.js'
import { createPrice } from './prices.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

// Plans are recurring prices seen through the older API (the CLI's fixtures still make them): a plan
// and its price share one id and one state, and each change is announced as both.

function planPrice (ctx: Ctx, id: string): Obj {
  const price = ctx.store.get('prices', id)
  if (!price || !price.recurring) throw missing('plan', id)
  return price
}

function createPlan (ctx: Ctx, p: Params, req: { id: string | null, idempotency_key: string | null }): Obj {
  if (!p.interval) throw paramMissing('interval')
  if (!p.product) throw paramMissing('product')
  const product = typeof p.product === 'string' ? { product: p.product } : { product_data: p.product }
  const price = createPrice(ctx, {
    ...product,
    active: p.active,
    billing_scheme: p.billing_scheme,
    currency: p.currency,
    metadata: p.metadata,
    nickname: p.nickname,
    recurring: { interval: p.interval, interval_count: p.interval_count, meter: p.meter, trial_period_days: p.trial_period_days, usage_type: p.usage_type },
    tiers: p.tiers,
    tiers_mode: p.tiers_mode,
    transform_quantity: p.transform_usage,
    unit_amount: p.amount,
    unit_amount_decimal: p.amount_decimal
  }, req, p.id ? String(p.id) : undefined)
  const plan = planFromPrice(ctx, price)
  ctx.emit('plan.created', plan, { request: req })
  return plan
}

const PLAN_UPDATABLE = { active: P.bool, metadata: P.map, nickname: P.str, trial_period_days: P.int }

export const planRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/plans',
    params: {
      ...PLAN_UPDATABLE,
      id: P.str,
      amount: P.int,
      amount_decimal: P.num,
      billing_scheme: P.enum('per_unit', 'tiered'),
      currency: P.str,
      interval: P.enum('day', 'week', 'month', 'year'),
      interval_count: P.int,
      meter: P.str,
      product: P.either(P.str, P.obj({ ...PRODUCT_PARAMS, id: P.str })),
      tiers: P.arr(P.obj({ up_to: P.either(P.enum('inf'), P.int), unit_amount: P.int, unit_amount_decimal: P.num, flat_amount: P.int, flat_amount_decimal: P.num })),
      tiers_mode: P.enum('graduated', 'volume'),
      transform_usage: P.obj({ divide_by: P.int, round: P.enum('down', 'up') }),
      usage_type: P.enum('licensed', 'metered')
    },
    handler: (ctx, req) => createPlan(ctx, req.body, req.request)
  },
  { method: 'GET', path: '/v1/plans/:id', params: {}, handler: (ctx, req) => planFromPrice(ctx, planPrice(ctx, req.params.id)) },
  {
    method: 'POST',
    path: '/v1/plans/:id',
    params: PLAN_UPDATABLE,
    handler: (ctx, req) => {
      const p = req.body
      const price = planPrice(ctx, req.params.id)
      const before = planFromPrice(ctx, price)
      const beforePrice = structuredClone(price)
      if (p.active !== undefined) price.active = toBool(p.active)
      if (p.nickname !== undefined) price.nickname = nullable(p.nickname)
      if (p.trial_period_days !== undefined) price.recurring.trial_period_days = toInt(p.trial_period_days) ?? null
      price.metadata = mergeMetadata(price.metadata, p.metadata)
      const plan = planFromPrice(ctx, price)
      const previous = previousAttributes(before, plan)
      if (Object.keys(previous).length > 0) {
        ctx.emit('plan.updated', plan, { request: req.request, previous })
        ctx.emit('price.updated', price, { request: req.request, previous: previousAttributes(beforePrice, price) })
      }
      return plan
    }
  },
  {
    // Deleting a plan deletes its price; subscriptions on it go on as they are, as with Stripe.
    method: 'DELETE',
    path: '/v1/plans/:id',
    params: {},
    handler: (ctx, req) => {
      const price = planPrice(ctx, req.params.id)
      const plan = planFromPrice(ctx, price)
      ctx.store.delete('prices', price.id)
      ctx.emit('plan.deleted', plan, { request: req.request })
      ctx.emit('price.deleted', price, { request: req.request })
      return { id: price.id, object: 'plan', deleted: true }
    }
  },
  {
    method: 'GET',
    path: '/v1/plans',
    params: { ...LIST_PARAMS, active: P.bool, product: P.str, created: P.range },
    handler: (ctx, req) => {
      const q = req.body
      const active = toBool(q.active)
      const prices = ctx.store.newestFirst('prices').filter(
        (p) => p.recurring && (active === undefined || p.active === active) && (!q.product || p.product === q.product) && matchesRange(p.created, q.created)
      )
      return listEnvelope(prices.map((p) => planFromPrice(ctx, p)), q, '/v1/plans', 'plan')
    }
  }
]

