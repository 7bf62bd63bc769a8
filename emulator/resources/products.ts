import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { updateAndEmit } from '../events.js'
import { badRequest, missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, type Params } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import type { Ctx } from '../context.js'
import type { RequestInfo } from '../events.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function createProduct (ctx: Ctx, p: Params, request?: RequestInfo): Obj {
  if (!p.name) throw paramMissing('name')
  const now = ctx.now()
  const product = fromTemplate(ctx.templates, 'product', {
    id: p.id || newId('prod'),
    active: toBool(p.active) ?? true,
    created: now,
    updated: now,
    default_price: null,
    description: nullable(p.description) ?? null,
    metadata: mergeMetadata({}, p.metadata),
    name: String(p.name),
    statement_descriptor: nullable(p.statement_descriptor) ?? null,
    unit_label: nullable(p.unit_label) ?? null,
    url: nullable(p.url) ?? null
  })
  ctx.store.put('products', product)
  ctx.emit('product.created', product, { request })
  return product
}

export function getProduct (ctx: Ctx, id: string, param = 'id'): Obj {
  const product = ctx.store.get('products', id)
  if (!product) throw missing('product', id, param)
  return product
}

// Stripe deletes only a product without prices; one with prices can only be archived.
function deleteProduct (ctx: Ctx, id: string, request: RequestInfo): Obj {
  const product = getProduct(ctx, id)
  if ([...ctx.store.collections.prices.values()].some((p) => p.product === id)) {
    throw badRequest('This product cannot be deleted because it has one or more user-created prices.', 'id')
  }
  ctx.store.delete('products', id)
  ctx.emit('product.deleted', product, { request })
  return { id, object: 'product', deleted: true }
}

export const PRODUCT_PARAMS = { active: P.bool, description: P.str, metadata: P.map, name: P.str, statement_descriptor: P.str, unit_label: P.str, url: P.str }

export const productRoutes: Route[] = [
  { method: 'POST', path: '/v1/products', params: { ...PRODUCT_PARAMS, id: P.str }, handler: (ctx, req) => createProduct(ctx, req.body, req.request) },
  { method: 'GET', path: '/v1/products/:id', params: {}, handler: (ctx, req) => getProduct(ctx, req.params.id) },
  { method: 'DELETE', path: '/v1/products/:id', params: {}, handler: (ctx, req) => deleteProduct(ctx, req.params.id, req.request) },
  {
    method: 'POST',
    path: '/v1/products/:id',
    params: { ...PRODUCT_PARAMS, default_price: P.str },
    handler: (ctx, req) => {
      const p = req.body
      return updateAndEmit(ctx, 'product.updated', getProduct(ctx, req.params.id), (product) => {
        if (p.name) product.name = String(p.name)
        if (p.active !== undefined) product.active = toBool(p.active)
        if (p.description !== undefined) product.description = nullable(p.description)
        if (p.default_price !== undefined) product.default_price = nullable(p.default_price)
        product.metadata = mergeMetadata(product.metadata, p.metadata)
        product.updated = ctx.now()
      }, req.request)
    }
  },
  {
    method: 'GET',
    path: '/v1/products',
    params: { ...LIST_PARAMS, active: P.bool, created: P.range },
    handler: (ctx, req) => {
      const active = toBool(req.body.active)
      const items = ctx.store.newestFirst('products').filter((p) => active === undefined || p.active === active)
      return listEnvelope(items, req.body, '/v1/products', 'product')
    }
  }
]
