import { createInvoice, finalizeInvoice, markPaid, markUncollectible, subscriptionIdOf, voidInvoice } from '../billing/invoices.js'
import { payInvoice, type PaymentOutcome } from '../billing/invoice-payments.js'
import { afterInvoicePayment } from '../billing/subscription-status.js'
import { pendingCustomerItems } from '../billing/invoice-items.js'
import { attachedPaymentMethod } from '../billing/payment-methods.js'
import { updateAndEmit } from '../events.js'
import { badRequest, cardError, missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, toInt, type Params } from '../wire/form.js'
import { listEnvelope, matchesRange } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { getCustomer } from './customers.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function getInvoice (ctx: Ctx, id: string): Obj {
  const invoice = ctx.store.get('invoices', id)
  if (!invoice) throw missing('invoice', id)
  return invoice
}

function requireStatus (invoice: Obj, statuses: string[], action: string): void {
  if (!statuses.includes(invoice.status)) throw badRequest(`You can only ${action} an invoice whose status is ${statuses.join(' or ')}; this invoice is ${invoice.status}.`, undefined, 'invoice_not_editable')
}

function createOneOff (ctx: Ctx, p: Params, request: RequestInfo): Obj {
  if (!p.customer) throw paramMissing('customer')
  const customer = getCustomer(ctx, String(p.customer), 'customer')
  const now = ctx.now(customer)
  const pending = p.pending_invoice_items_behavior === 'include' ? pendingCustomerItems(ctx, customer.id) : []
  const invoice = createInvoice(ctx, {
    customer,
    billingReason: 'manual',
    periodStart: now,
    periodEnd: now,
    pending,
    fields: {
      auto_advance: toBool(p.auto_advance) ?? false,
      collection_method: p.collection_method ?? 'charge_automatically',
      currency: p.currency ? String(p.currency).toLowerCase() : pending[0]?.currency ?? 'usd',
      default_payment_method: p.default_payment_method ? attachedPaymentMethod(ctx, String(p.default_payment_method), customer.id, 'default_payment_method').id : null,
      description: nullable(p.description) ?? null,
      due_date: toInt(p.due_date) ?? (p.days_until_due ? now + Number(p.days_until_due) * 86_400 : null),
      metadata: mergeMetadata({}, p.metadata)
    }
  })
  ctx.emit('invoice.created', invoice, { request })
  return invoice
}

const REQUIRES_ACTION = 'This payment requires additional user action before it can be completed successfully. Payment can be completed using the PaymentIntent associated with the invoice. For more details see: https://stripe.com/docs/billing/subscriptions/overview#requires-action'

/** `POST /v1/invoices/:id/pay`: a draft is finalized first; a payment that does not go through is answered with a 402. */
function pay (ctx: Ctx, invoice: Obj, p: Params, request: RequestInfo): Obj {
  if (invoice.status === 'draft') finalizeInvoice(ctx, invoice, request)
  requireStatus(invoice, ['open'], 'pay')
  if (toBool(p.paid_out_of_band)) {
    markPaid(ctx, invoice, request, true)
    afterInvoicePayment(ctx, invoice, 'succeeded', request)
    return invoice
  }
  const paymentMethod = p.payment_method ? attachedPaymentMethod(ctx, String(p.payment_method), invoice.customer, 'payment_method') : undefined
  const outcome: PaymentOutcome = payInvoice(ctx, invoice, { paymentMethod, request })
  if (outcome === 'no_payment_method') {
    throw badRequest('This customer has no attached payment source or default payment method.', undefined, 'resource_missing')
  }
  const pi = ctx.store.get('payment_intents', ctx.store.get('invoice_payments', ctx.store.internal(invoice.id).payment)?.payment.payment_intent ?? '')
  if (outcome === 'requires_action') throw cardError('invoice_payment_intent_requires_action', REQUIRES_ACTION, { payment_intent: structuredClone(pi) })
  if (outcome === 'requires_payment_method' && pi?.last_payment_error) {
    const { type: _type, message, code, ...rest } = pi.last_payment_error
    throw cardError(code, message, { ...rest, payment_intent: structuredClone(pi) })
  }
  return invoice
}

const INVOICE_FIELDS = {
  auto_advance: P.bool,
  collection_method: P.enum('charge_automatically', 'send_invoice'),
  days_until_due: P.int,
  default_payment_method: P.str,
  description: P.str,
  due_date: P.int,
  metadata: P.map
}

export const invoiceRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/invoices',
    params: { ...INVOICE_FIELDS, customer: P.str, currency: P.str, pending_invoice_items_behavior: P.enum('exclude', 'include') },
    handler: (ctx, req) => createOneOff(ctx, req.body, req.request)
  },
  { method: 'GET', path: '/v1/invoices/:id', params: {}, handler: (ctx, req) => getInvoice(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/invoices/:id',
    params: INVOICE_FIELDS,
    handler: (ctx, req) => {
      const p = req.body
      const invoice = getInvoice(ctx, req.params.id)
      if (Object.keys(p).some((k) => k !== 'metadata' && k !== 'expand')) requireStatus(invoice, ['draft'], 'change')
      return updateAndEmit(ctx, 'invoice.updated', invoice, (inv) => {
        if (p.auto_advance !== undefined) inv.auto_advance = toBool(p.auto_advance)
        if (p.collection_method !== undefined) inv.collection_method = p.collection_method
        if (p.description !== undefined) inv.description = nullable(p.description)
        if (p.due_date !== undefined) inv.due_date = toInt(p.due_date) ?? null
        if (p.default_payment_method !== undefined) {
          inv.default_payment_method = p.default_payment_method ? attachedPaymentMethod(ctx, String(p.default_payment_method), inv.customer, 'default_payment_method').id : null
        }
        inv.metadata = mergeMetadata(inv.metadata, p.metadata)
      }, req.request)
    }
  },
  {
    method: 'DELETE',
    path: '/v1/invoices/:id',
    params: {},
    handler: (ctx, req) => {
      const invoice = getInvoice(ctx, req.params.id)
      requireStatus(invoice, ['draft'], 'delete')
      for (const ii of ctx.store.collections.invoiceitems.values()) if (ii.invoice === invoice.id) ii.invoice = null
      ctx.store.delete('invoices', invoice.id)
      ctx.emit('invoice.deleted', invoice, { request: req.request })
      return { id: invoice.id, object: 'invoice', deleted: true }
    }
  },
  {
    method: 'POST',
    path: '/v1/invoices/:id/finalize',
    params: { auto_advance: P.bool },
    handler: (ctx, req) => {
      const invoice = getInvoice(ctx, req.params.id)
      requireStatus(invoice, ['draft'], 'finalize')
      if (req.body.auto_advance !== undefined) invoice.auto_advance = toBool(req.body.auto_advance)
      finalizeInvoice(ctx, invoice, req.request)
      return invoice
    }
  },
  {
    method: 'POST',
    path: '/v1/invoices/:id/pay',
    params: { payment_method: P.str, paid_out_of_band: P.bool, off_session: P.bool, forgive: P.bool },
    handler: (ctx, req) => pay(ctx, getInvoice(ctx, req.params.id), req.body, req.request)
  },
  {
    method: 'POST',
    path: '/v1/invoices/:id/void',
    params: {},
    handler: (ctx, req) => {
      const invoice = getInvoice(ctx, req.params.id)
      requireStatus(invoice, ['open', 'uncollectible'], 'void')
      return voidInvoice(ctx, invoice, req.request)
    }
  },
  {
    method: 'POST',
    path: '/v1/invoices/:id/send',
    params: {},
    handler: (ctx, req) => {
      const invoice = getInvoice(ctx, req.params.id)
      if (invoice.status === 'draft') finalizeInvoice(ctx, invoice, req.request)
      requireStatus(invoice, ['open'], 'send')
      ctx.emit('invoice.sent', invoice, { request: req.request })
      return invoice
    }
  },
  {
    method: 'POST',
    path: '/v1/invoices/:id/mark_uncollectible',
    params: {},
    handler: (ctx, req) => {
      const invoice = getInvoice(ctx, req.params.id)
      requireStatus(invoice, ['open'], 'mark uncollectible')
      return markUncollectible(ctx, invoice, req.request)
    }
  },
  {
    method: 'GET',
    path: '/v1/invoices/:id/lines',
    params: LIST_PARAMS,
    handler: (ctx, req) => listEnvelope(getInvoice(ctx, req.params.id).lines.data, req.body, `/v1/invoices/${req.params.id}/lines`, 'line_item')
  },
  {
    method: 'GET',
    path: '/v1/invoices',
    params: { ...LIST_PARAMS, customer: P.str, subscription: P.str, status: P.enum('draft', 'open', 'paid', 'uncollectible', 'void'), created: P.range, collection_method: P.str },
    handler: (ctx, req) => {
      const q = req.body
      const items = ctx.store.newestFirst('invoices').filter(
        (i) => (!q.customer || i.customer === q.customer) &&
          (!q.subscription || subscriptionIdOf(i) === q.subscription) &&
          (!q.status || i.status === q.status) &&
          (!q.collection_method || i.collection_method === q.collection_method) &&
          matchesRange(i.created, q.created)
      )
      return listEnvelope(items, q, '/v1/invoices', 'invoice')
    }
  }
]
