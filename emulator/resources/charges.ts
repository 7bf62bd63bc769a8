import { missing } from '../wire/errors.js'
import { listEnvelope, matchesRange } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import type { Collection } from '../store.js'
import type { Route } from '../http/route.js'

const getter = (collection: Collection, resource: string): Route['handler'] => (ctx, req) => {
  const obj = ctx.store.get(collection, req.params.id)
  if (!obj) throw missing(resource, req.params.id)
  return obj
}

// Charges and invoice payments are made by payments; the API only reads them.
export const chargeRoutes: Route[] = [
  { method: 'GET', path: '/v1/charges/:id', params: {}, handler: getter('charges', 'charge') },
  {
    method: 'GET',
    path: '/v1/charges',
    params: { ...LIST_PARAMS, customer: P.str, payment_intent: P.str, created: P.range },
    handler: (ctx, req) => {
      const q = req.body
      const items = ctx.store.newestFirst('charges').filter(
        (c) => (!q.customer || c.customer === q.customer) && (!q.payment_intent || c.payment_intent === q.payment_intent) && matchesRange(c.created, q.created)
      )
      return listEnvelope(items, q, '/v1/charges', 'charge')
    }
  },
  { method: 'GET', path: '/v1/invoice_payments/:id', params: {}, handler: getter('invoice_payments', 'invoice_payment') },
  {
    method: 'GET',
    path: '/v1/invoice_payments',
    params: { ...LIST_PARAMS, invoice: P.str, status: P.enum('canceled', 'open', 'paid'), payment: P.obj({ type: P.str, payment_intent: P.str }) },
    handler: (ctx, req) => {
      const q = req.body
      const items = ctx.store.newestFirst('invoice_payments').filter(
        (p) => (!q.invoice || p.invoice === q.invoice) && (!q.status || p.status === q.status) && (!q.payment?.payment_intent || p.payment.payment_intent === q.payment.payment_intent)
      )
      return listEnvelope(items, q, '/v1/invoice_payments', 'invoice_payment')
    }
  }
]
