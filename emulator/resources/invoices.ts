import { missing } from '../wire/errors.js'
import { listEnvelope } from '../http/list.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

const subscriptionOf = (o: Obj) => o.parent?.subscription_details?.subscription

export const invoiceRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v1/invoices/:id',
    handler: (ctx, req) => {
      const invoice = ctx.store.get('invoices', req.params.id)
      if (!invoice) throw missing('invoice', req.params.id)
      return invoice
    }
  },
  {
    method: 'GET',
    path: '/v1/invoices',
    handler: (ctx, req) => {
      const q = req.body
      const items = ctx.store.newestFirst('invoices').filter(
        (i) => (!q.customer || i.customer === q.customer) && (!q.subscription || subscriptionOf(i) === q.subscription) && (!q.status || i.status === q.status)
      )
      return listEnvelope(items, q, '/v1/invoices', 'invoice')
    }
  },
  {
    method: 'GET',
    path: '/v1/invoiceitems/:id',
    handler: (ctx, req) => {
      const ii = ctx.store.get('invoiceitems', req.params.id)
      if (!ii) throw missing('invoiceitem', req.params.id)
      return ii
    }
  },
  {
    method: 'GET',
    path: '/v1/invoiceitems',
    handler: (ctx, req) => {
      const q = req.body
      const pending = q.pending === undefined ? undefined : q.pending === 'true'
      const items = ctx.store.newestFirst('invoiceitems').filter(
        (ii) =>
          (!q.customer || ii.customer === q.customer) &&
          (!q.invoice || ii.invoice === q.invoice) &&
          (pending === undefined || (ii.invoice === null) === pending)
      )
      return listEnvelope(items, q, '/v1/invoiceitems', 'invoiceitem')
    }
  }
]
