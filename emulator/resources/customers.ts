import { newId, randomToken } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { updateAndEmit, type RequestInfo } from '../events.js'
import { missing } from '../wire/errors.js'
import { mergeMetadata, nullable, type Params } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { endSubscription } from '../billing/cycle.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function createCustomer (ctx: Ctx, p: Params, request?: RequestInfo): Obj {
  const customer = fromTemplate(ctx.templates, 'customer', {
    id: newId('cus'),
    created: ctx.clock.now(),
    description: nullable(p.description) ?? null,
    email: nullable(p.email) ?? null,
    invoice_prefix: randomToken(8).toUpperCase().replace(/[^0-9A-F]/g, 'A').slice(0, 7),
    metadata: mergeMetadata({}, p.metadata),
    name: nullable(p.name) ?? null,
    next_invoice_sequence: 1,
    phone: nullable(p.phone) ?? null
  })
  ctx.store.put('customers', customer)
  ctx.emit('customer.created', customer, { request })
  return customer
}

export function getCustomer (ctx: Ctx, id: string, param = 'id'): Obj {
  const customer = ctx.store.get('customers', id)
  if (!customer || customer.deleted) throw missing('customer', id, param)
  return customer
}

// Deleting a customer ends its subscriptions at once; the id then reads as a deleted stub.
function deleteCustomer (ctx: Ctx, id: string, request: RequestInfo): Obj {
  const customer = getCustomer(ctx, id)
  for (const sub of ctx.store.collections.subscriptions.values()) {
    if (sub.customer === id && sub.status !== 'canceled') endSubscription(ctx, sub, 'cancellation_requested', request)
  }
  const stub = { id, object: 'customer', deleted: true }
  ctx.store.put('customers', stub)
  ctx.emit('customer.deleted', customer, { request })
  return stub
}

export const customerRoutes: Route[] = [
  { method: 'POST', path: '/v1/customers', handler: (ctx, req) => createCustomer(ctx, req.body, req.request) },
  {
    method: 'GET',
    path: '/v1/customers/:id',
    handler: (ctx, req) => {
      const customer = ctx.store.get('customers', req.params.id)
      return customer?.deleted ? customer : getCustomer(ctx, req.params.id)
    }
  },
  { method: 'DELETE', path: '/v1/customers/:id', handler: (ctx, req) => deleteCustomer(ctx, req.params.id, req.request) },
  {
    method: 'POST',
    path: '/v1/customers/:id',
    handler: (ctx, req) => {
      const p = req.body
      return updateAndEmit(ctx, 'customer.updated', getCustomer(ctx, req.params.id), (c) => {
        for (const field of ['email', 'name', 'description', 'phone'] as const) {
          if (p[field] !== undefined) c[field] = nullable(p[field])
        }
        c.metadata = mergeMetadata(c.metadata, p.metadata)
      }, req.request)
    }
  },
  {
    method: 'GET',
    path: '/v1/customers',
    handler: (ctx, req) => {
      const email = req.body.email
      const items = ctx.store.newestFirst('customers').filter((c) => !c.deleted && (!email || c.email === email))
      return listEnvelope(items, req.body, '/v1/customers', 'customer')
    }
  }
]
