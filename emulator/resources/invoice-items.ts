import { createInvoiceItem } from '../billing/invoice-items.js'
import { lineForInvoiceItem } from '../billing/invoice-lines.js'
import { applyTotals } from '../billing/totals.js'
import { discountTerms } from '../billing/discounts.js'
import { amountFor } from '../billing/pricing.js'
import { updateAndEmit } from '../events.js'
import { badRequest, missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toInt, type Params } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { getCustomer } from './customers.js'
import { getPrice } from './prices.js'
import { getSubscription } from './subscriptions.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function getInvoiceItem (ctx: Ctx, id: string): Obj {
  const ii = ctx.store.get('invoiceitems', id)
  if (!ii) throw missing('invoiceitem', id)
  return ii
}

function create (ctx: Ctx, p: Params, request: RequestInfo): Obj {
  if (!p.customer) throw paramMissing('customer')
  const customer = getCustomer(ctx, String(p.customer), 'customer')
  const price = p.price ? getPrice(ctx, String(p.price), 'price') : undefined
  const quantity = toInt(p.quantity) ?? 1
  const amount = price ? amountFor(ctx, price, quantity) : toInt(p.amount)
  if (amount === undefined) throw paramMissing('amount')
  const currency = price?.currency ?? (p.currency ? String(p.currency).toLowerCase() : undefined)
  if (!currency) throw paramMissing('currency')
  const invoice = p.invoice ? ctx.store.get('invoices', String(p.invoice)) : undefined
  if (p.invoice && !invoice) throw missing('invoice', String(p.invoice), 'invoice')
  if (invoice && invoice.status !== 'draft') throw badRequest('You can only add invoice items to draft invoices.', 'invoice', 'invoice_not_editable')
  const ii = createInvoiceItem(ctx, {
    customer,
    amount,
    currency,
    quantity,
    price,
    description: nullable(p.description) ?? (price ? ctx.store.get('products', price.product)?.name : null),
    sub: p.subscription ? getSubscription(ctx, String(p.subscription)) : undefined,
    metadata: mergeMetadata({}, p.metadata),
    period: p.period ? { start: Number(p.period.start), end: Number(p.period.end) } : undefined,
    invoice: invoice?.id ?? null
  })
  if (invoice) {
    invoice.lines.data.push({ ...lineForInvoiceItem(ctx, ii), invoice: invoice.id })
    applyTotals(invoice, discountTerms(ctx))
  }
  ctx.emit('invoiceitem.created', ii, { request })
  return ii
}

export const invoiceItemRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/invoiceitems',
    params: {
      customer: P.str, amount: P.int, currency: P.str, description: P.str, invoice: P.str, metadata: P.map,
      period: P.obj({ start: P.int, end: P.int }), price: P.str, quantity: P.int, subscription: P.str
    },
    handler: (ctx, req) => create(ctx, req.body, req.request)
  },
  { method: 'GET', path: '/v1/invoiceitems/:id', params: {}, handler: (ctx, req) => getInvoiceItem(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/invoiceitems/:id',
    params: { amount: P.int, description: P.str, metadata: P.map },
    handler: (ctx, req) => {
      const ii = getInvoiceItem(ctx, req.params.id)
      if (ii.invoice && (req.body.amount !== undefined || req.body.description !== undefined)) {
        throw badRequest('An invoice item that is already on an invoice cannot be changed.', undefined, 'invoice_not_editable')
      }
      return updateAndEmit(ctx, 'invoiceitem.updated', ii, (o) => {
        if (req.body.amount !== undefined) o.amount = o.net_amount = toInt(req.body.amount)
        if (req.body.description !== undefined) o.description = nullable(req.body.description)
        o.metadata = mergeMetadata(o.metadata, req.body.metadata)
      }, req.request)
    }
  },
  {
    method: 'DELETE',
    path: '/v1/invoiceitems/:id',
    params: {},
    handler: (ctx, req) => {
      const ii = getInvoiceItem(ctx, req.params.id)
      if (ii.invoice) throw badRequest('An invoice item that is already on an invoice cannot be deleted.', undefined, 'invoice_not_editable')
      ctx.store.delete('invoiceitems', ii.id)
      ctx.emit('invoiceitem.deleted', ii, { request: req.request })
      return { id: ii.id, object: 'invoiceitem', deleted: true }
    }
  },
  {
    method: 'GET',
    path: '/v1/invoiceitems',
    params: { ...LIST_PARAMS, customer: P.str, invoice: P.str, pending: P.bool, created: P.range },
    handler: (ctx, req) => {
      const q = req.body
      const pending = q.pending === undefined ? undefined : q.pending === 'true'
      const items = ctx.store.newestFirst('invoiceitems').filter(
        (ii) => (!q.customer || ii.customer === q.customer) && (!q.invoice || ii.invoice === q.invoice) && (pending === undefined || (ii.invoice === null) === pending)
      )
      return listEnvelope(items, q, '/v1/invoiceitems', 'invoiceitem')
    }
  }
]
