import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { updateAndEmit, type RequestInfo } from '../events.js'
import { badRequest, missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, toInt, toList, type Params } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { createProduct, getProduct, PRODUCT_PARAMS } from './products.js'
import { getMeter } from './billing-meters.js'
import { tiersFrom } from '../billing/pricing.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function getPrice (ctx: Ctx, id: string, param = 'id'): Obj {
  const price = ctx.store.get('prices', id)
  if (!price) throw missing('price', id, param)
  return price
}

// A lookup key names one price at a time; `transfer_lookup_key` takes it from the holder.
function claimLookupKey (ctx: Ctx, key: string, transfer: boolean, claimant: string, request?: RequestInfo): void {
  const holder = [...ctx.store.collections.prices.values()].find((p) => p.lookup_key === key && p.id !== claimant)
  if (!holder) return
  if (!transfer) {
    throw badRequest(`A price (\`${holder.id}\`) already uses that lookup key.`, 'lookup_key', 'lookup_key_already_exists')
  }
  updateAndEmit(ctx, 'price.updated', holder, (p) => {
    p.lookup_key = null
  }, request)
}

function recurringFrom (ctx: Ctx, p: Params): Obj | null {
  if (!p.recurring) return null
  const usageType = p.recurring.usage_type ?? 'licensed'
  const meter = p.recurring.meter ? getMeter(ctx, String(p.recurring.meter), 'recurring[meter]') : null
  // Since 2025-03-31.basil usage is reported to meters only: a metered price names its meter.
  if (usageType === 'metered' && !meter) throw paramMissing('recurring[meter]')
  if (meter && usageType !== 'metered') throw badRequest('`recurring[meter]` requires `recurring[usage_type]=metered`.', 'recurring[meter]')
  if (meter && meter.status !== 'active') throw badRequest(`The meter ${meter.id} is inactive.`, 'recurring[meter]')
  return {
    interval: String(p.recurring.interval ?? 'month'),
    interval_count: toInt(p.recurring.interval_count) ?? 1,
    meter: meter?.id ?? null,
    trial_period_days: toInt(p.recurring.trial_period_days) ?? null,
    usage_type: usageType
  }
}

/** Per-unit amount (`unit_amount`, or `unit_amount_decimal` that may be a fraction of a cent), or tiers. */
function amountsOf (p: Params): Obj {
  if ((p.billing_scheme ?? 'per_unit') === 'tiered') {
    if (!p.tiers_mode) throw paramMissing('tiers_mode')
    if (p.unit_amount !== undefined || p.unit_amount_decimal !== undefined) throw badRequest('A tiered price takes its amounts from `tiers`.', 'unit_amount')
    return { billing_scheme: 'tiered', tiers_mode: p.tiers_mode, unit_amount: null, unit_amount_decimal: null }
  }
  if (p.tiers !== undefined) throw badRequest('`tiers` requires `billing_scheme=tiered`.', 'tiers')
  const decimal = p.unit_amount_decimal !== undefined ? String(p.unit_amount_decimal) : p.unit_amount !== undefined ? String(toInt(p.unit_amount)) : undefined
  if (decimal === undefined) throw paramMissing('unit_amount')
  if (!(Number(decimal) >= 0)) throw badRequest('`unit_amount` must be zero or positive.', 'unit_amount')
  return { billing_scheme: 'per_unit', tiers_mode: null, unit_amount: Number.isInteger(Number(decimal)) ? Number(decimal) : null, unit_amount_decimal: decimal }
}

function transformOf (p: Params): Obj | null {
  if (!p.transform_quantity) return null
  const divideBy = toInt(p.transform_quantity.divide_by)
  if (!(divideBy! > 0)) throw badRequest('`transform_quantity[divide_by]` must be a positive integer.', 'transform_quantity[divide_by]')
  if (!p.transform_quantity.round) throw paramMissing('transform_quantity[round]')
  if (p.billing_scheme === 'tiered') throw badRequest('`transform_quantity` cannot be combined with `billing_scheme=tiered`.', 'transform_quantity')
  return { divide_by: divideBy, round: p.transform_quantity.round }
}

/** `id` is for plans, which may name themselves; prices never do. */
export function createPrice (ctx: Ctx, p: Params, request: RequestInfo, id = newId('price')): Obj {
  if (!p.currency) throw paramMissing('currency')
  let productId: string
  if (p.product) productId = getProduct(ctx, String(p.product), 'product').id
  else if (p.product_data) productId = createProduct(ctx, p.product_data, request).id
  else throw paramMissing('product')
  const amounts = amountsOf(p)
  const tiers = amounts.billing_scheme === 'tiered' ? tiersFrom(p.tiers) : null
  const transform = transformOf(p)
  if (ctx.store.get('prices', id)) throw badRequest('Plan already exists.', 'id', 'resource_already_exists')
  const lookupKey = nullable(p.lookup_key) ?? null
  if (lookupKey) claimLookupKey(ctx, lookupKey, toBool(p.transfer_lookup_key) === true, id, request)
  const recurring = recurringFrom(ctx, p)
  const price = fromTemplate(ctx.templates, 'price', {
    ...amounts,
    id,
    active: toBool(p.active) ?? true,
    created: ctx.now(),
    currency: String(p.currency).toLowerCase(),
    lookup_key: lookupKey,
    metadata: mergeMetadata({}, p.metadata),
    nickname: nullable(p.nickname) ?? null,
    product: productId,
    recurring,
    tax_behavior: p.tax_behavior ?? 'unspecified',
    transform_quantity: transform,
    type: recurring ? 'recurring' : 'one_time'
  })
  ctx.store.put('prices', price)
  if (tiers) ctx.store.internal(id).tiers = tiers
  ctx.emit('price.created', price, { request })
  return price
}

const UPDATABLE = { active: P.bool, lookup_key: P.str, metadata: P.map, nickname: P.str, tax_behavior: P.enum('exclusive', 'inclusive', 'unspecified'), transfer_lookup_key: P.bool }

export const priceRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/prices',
    params: {
      ...UPDATABLE,
      currency: P.str,
      product: P.str,
      product_data: P.obj({ ...PRODUCT_PARAMS, id: P.str }),
      recurring: P.obj({ interval: P.enum('day', 'week', 'month', 'year'), interval_count: P.int, meter: P.str, trial_period_days: P.int, usage_type: P.enum('licensed', 'metered') }),
      unit_amount: P.int,
      unit_amount_decimal: P.num,
      billing_scheme: P.enum('per_unit', 'tiered'),
      tiers: P.arr(P.obj({ up_to: P.either(P.enum('inf'), P.int), unit_amount: P.int, unit_amount_decimal: P.num, flat_amount: P.int, flat_amount_decimal: P.num })),
      tiers_mode: P.enum('graduated', 'volume'),
      transform_quantity: P.obj({ divide_by: P.int, round: P.enum('down', 'up') })
    },
    handler: (ctx, req) => createPrice(ctx, req.body, req.request)
  },
  { method: 'GET', path: '/v1/prices/:id', params: {}, handler: (ctx, req) => getPrice(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/prices/:id',
    params: UPDATABLE,
    handler: (ctx, req) => {
      const p = req.body
      const price = getPrice(ctx, req.params.id)
      const lookupKey = nullable(p.lookup_key)
      if (lookupKey) claimLookupKey(ctx, lookupKey, toBool(p.transfer_lookup_key) === true, price.id, req.request)
      return updateAndEmit(ctx, 'price.updated', price, (o) => {
        if (p.active !== undefined) o.active = toBool(p.active)
        if (p.nickname !== undefined) o.nickname = nullable(p.nickname)
        if (lookupKey !== undefined) o.lookup_key = lookupKey
        if (p.tax_behavior) o.tax_behavior = p.tax_behavior
        o.metadata = mergeMetadata(o.metadata, p.metadata)
      }, req.request)
    }
  },
  {
    method: 'GET',
    path: '/v1/prices',
    params: { ...LIST_PARAMS, active: P.bool, currency: P.str, lookup_keys: P.arr(P.str), product: P.str, type: P.enum('one_time', 'recurring'), created: P.range },
    handler: (ctx, req) => {
      const q = req.body
      const keys = toList(q.lookup_keys)
      const active = toBool(q.active)
      const items = ctx.store.newestFirst('prices').filter(
        (p) =>
          (keys.length === 0 || keys.includes(p.lookup_key)) &&
          (active === undefined || p.active === active) &&
          (!q.product || p.product === q.product) &&
          (!q.type || p.type === q.type) &&
          (!q.currency || p.currency === q.currency)
      )
      return listEnvelope(items, q, '/v1/prices', 'price')
    }
  }
]
