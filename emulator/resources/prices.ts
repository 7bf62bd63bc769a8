import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { updateAndEmit, type RequestInfo } from '../events.js'
import { badRequest, missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, toInt, toList, type Params } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { createProduct, getProduct, PRODUCT_PARAMS } from './products.js'
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

function recurringFrom (p: Params): Obj | null {
  if (!p.recurring) return null
  return {
    interval: String(p.recurring.interval ?? 'month'),
    interval_count: toInt(p.recurring.interval_count) ?? 1,
    meter: null,
    trial_period_days: toInt(p.recurring.trial_period_days) ?? null,
    usage_type: p.recurring.usage_type ?? 'licensed'
  }
}

function createPrice (ctx: Ctx, p: Params, request: RequestInfo): Obj {
  if (!p.currency) throw paramMissing('currency')
  let productId: string
  if (p.product) productId = getProduct(ctx, String(p.product), 'product').id
  else if (p.product_data) productId = createProduct(ctx, p.product_data, request).id
  else throw paramMissing('product')
  const amount = toInt(p.unit_amount) ?? (p.unit_amount_decimal !== undefined ? Math.round(Number(p.unit_amount_decimal)) : undefined)
  if (amount === undefined) throw paramMissing('unit_amount')
  const id = newId('price')
  const lookupKey = nullable(p.lookup_key) ?? null
  if (lookupKey) claimLookupKey(ctx, lookupKey, toBool(p.transfer_lookup_key) === true, id, request)
  const recurring = recurringFrom(p)
  const price = fromTemplate(ctx.templates, 'price', {
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
    type: recurring ? 'recurring' : 'one_time',
    unit_amount: amount,
    unit_amount_decimal: String(amount)
  })
  ctx.store.put('prices', price)
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
      recurring: P.obj({ interval: P.enum('day', 'week', 'month', 'year'), interval_count: P.int, trial_period_days: P.int, usage_type: P.enum('licensed', 'metered') }),
      unit_amount: P.int,
      unit_amount_decimal: P.str
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
