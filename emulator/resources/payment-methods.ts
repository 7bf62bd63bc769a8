import { attachPaymentMethod, cardFrom, cardPaymentMethod, detachPaymentMethod, resolvePaymentMethod, sepaPaymentMethod } from '../billing/payment-methods.js'
import { updateAndEmit } from '../events.js'
import { badRequest, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, type Params } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { getCustomer } from './customers.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

const ADDRESS = P.obj({ city: P.str, country: P.str, line1: P.str, line2: P.str, postal_code: P.str, state: P.str })
const BILLING_DETAILS = P.obj({ address: ADDRESS, email: P.str, name: P.str, phone: P.str })

function billingDetails (current: Obj, patch: Params | undefined): Obj {
  if (!patch) return current
  const next = structuredClone(current)
  for (const field of ['email', 'name', 'phone'] as const) if (patch[field] !== undefined) next[field] = nullable(patch[field])
  if (patch.address) for (const [k, v] of Object.entries(patch.address)) next.address[k] = nullable(v)
  return next
}

function createPaymentMethod (ctx: Ctx, p: Params): Obj {
  const extra = {
    billing_details: billingDetails(structuredClone(ctx.templates.paymentMethod.billing_details), p.billing_details),
    metadata: mergeMetadata({}, p.metadata),
    allow_redisplay: p.allow_redisplay ?? 'unspecified'
  }
  if (!p.type) throw paramMissing('type')
  if (p.type === 'card') {
    if (!p.card) throw paramMissing('card')
    return cardPaymentMethod(ctx, cardFrom({ token: p.card.token, number: p.card.number }, 'card'), extra)
  }
  if (p.type === 'sepa_debit') {
    if (!p.sepa_debit?.iban) throw paramMissing('sepa_debit[iban]')
    return sepaPaymentMethod(ctx, String(p.sepa_debit.iban), extra)
  }
  throw badRequest(`The emulator supports payment method types card and sepa_debit, not ${String(p.type)}.`, 'type')
}

function listFor (ctx: Ctx, customerId: string, q: Params, url: string): Obj {
  const items = ctx.store.newestFirst('payment_methods').filter((pm) => pm.customer === customerId && (!q.type || pm.type === q.type))
  return listEnvelope(items, q, url, 'payment_method')
}

export const paymentMethodRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/payment_methods',
    params: {
      type: P.enum('card', 'sepa_debit'),
      card: P.obj({ token: P.str, number: P.str, exp_month: P.int, exp_year: P.int, cvc: P.str }),
      sepa_debit: P.obj({ iban: P.str }),
      billing_details: BILLING_DETAILS,
      metadata: P.map,
      allow_redisplay: P.enum('always', 'limited', 'unspecified')
    },
    handler: (ctx, req) => createPaymentMethod(ctx, req.body)
  },
  { method: 'GET', path: '/v1/payment_methods/:id', params: {}, handler: (ctx, req) => resolvePaymentMethod(ctx, req.params.id, 'payment_method') },
  {
    method: 'POST',
    path: '/v1/payment_methods/:id',
    params: { billing_details: BILLING_DETAILS, metadata: P.map, allow_redisplay: P.enum('always', 'limited', 'unspecified') },
    handler: (ctx, req) => updateAndEmit(ctx, 'payment_method.updated', resolvePaymentMethod(ctx, req.params.id), (pm) => {
      pm.billing_details = billingDetails(pm.billing_details, req.body.billing_details)
      pm.metadata = mergeMetadata(pm.metadata, req.body.metadata)
      if (req.body.allow_redisplay) pm.allow_redisplay = req.body.allow_redisplay
    }, req.request)
  },
  {
    method: 'POST',
    path: '/v1/payment_methods/:id/attach',
    params: { customer: P.str },
    handler: (ctx, req) => {
      if (!req.body.customer) throw paramMissing('customer')
      const customer = getCustomer(ctx, String(req.body.customer), 'customer')
      return attachPaymentMethod(ctx, resolvePaymentMethod(ctx, req.params.id), customer, req.request)
    }
  },
  {
    method: 'POST',
    path: '/v1/payment_methods/:id/detach',
    params: {},
    handler: (ctx, req) => detachPaymentMethod(ctx, resolvePaymentMethod(ctx, req.params.id), req.request)
  },
  {
    method: 'GET',
    path: '/v1/payment_methods',
    params: { ...LIST_PARAMS, customer: P.str, type: P.str },
    handler: (ctx, req) => {
      if (!req.body.customer) throw paramMissing('customer')
      return listFor(ctx, getCustomer(ctx, String(req.body.customer), 'customer').id, req.body, '/v1/payment_methods')
    }
  },
  {
    method: 'GET',
    path: '/v1/customers/:id/payment_methods',
    params: { ...LIST_PARAMS, type: P.str, allow_redisplay: P.str },
    handler: (ctx, req) => listFor(ctx, getCustomer(ctx, req.params.id).id, req.body, `/v1/customers/${req.params.id}/payment_methods`)
  },
  {
    method: 'GET',
    path: '/v1/customers/:id/payment_methods/:pm',
    params: {},
    handler: (ctx, req) => {
      const customer = getCustomer(ctx, req.params.id)
      const pm = resolvePaymentMethod(ctx, req.params.pm, 'payment_method')
      if (pm.customer !== customer.id) throw badRequest(`Customer ${customer.id} has no payment method ${pm.id}.`, 'payment_method', 'resource_missing')
      return pm
    }
  }
]
