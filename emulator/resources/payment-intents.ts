import { cancelPaymentIntent, capturePaymentIntent, confirmPaymentIntent, createPaymentIntent, type IntentOutcome } from '../billing/intents.js'
import { afterIntent } from '../billing/intent-results.js'
import { resolvePaymentMethod } from '../billing/payment-methods.js'
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

export function getPaymentIntent (ctx: Ctx, id: string): Obj {
  const pi = ctx.store.get('payment_intents', id)
  if (!pi) throw missing('payment_intent', id)
  return pi
}

const CONFIRMABLE = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action'])

/**
 * Confirms as the API does: the outcome is the intent's new status, and a decline is also answered
 * with Stripe's 402 card error (which names the intent), after its effects are recorded.
 */
function confirm (ctx: Ctx, pi: Obj, p: Params, request: RequestInfo): Obj {
  if (!CONFIRMABLE.has(pi.status)) {
    throw badRequest(`This PaymentIntent's status is ${pi.status}, so it cannot be confirmed.`, undefined, 'payment_intent_unexpected_state')
  }
  const pmId = p.payment_method ?? pi.payment_method
  if (!pmId) throw badRequest('You cannot confirm this PaymentIntent because it\'s missing a payment method.', 'payment_method', 'payment_intent_unexpected_state')
  const pm = resolvePaymentMethod(ctx, String(pmId))
  if (p.setup_future_usage !== undefined) pi.setup_future_usage = nullable(p.setup_future_usage)
  const offSession = p.off_session !== undefined && p.off_session !== 'false' && p.off_session !== ''
  const outcome: IntentOutcome = confirmPaymentIntent(ctx, pi, pm, { request, offSession })
  if (outcome === 'succeeded' && pi.setup_future_usage && pi.customer && !pm.customer) {
    pm.customer = pi.customer
    ctx.emit('payment_method.attached', pm, { request })
  }
  afterIntent(ctx, pi, outcome, request)
  if (outcome === 'requires_payment_method' && pi.last_payment_error) {
    const { type: _type, message, code, ...rest } = pi.last_payment_error
    throw cardError(code, message, { ...rest, payment_intent: structuredClone(pi) })
  }
  return pi
}

function shippingOf (s: Params): Obj {
  const a = s.address ?? {}
  return {
    address: { city: a.city ?? null, country: a.country ?? null, line1: a.line1 ?? null, line2: a.line2 ?? null, postal_code: a.postal_code ?? null, state: a.state ?? null },
    carrier: s.carrier ?? null,
    name: s.name ?? null,
    phone: s.phone ?? null,
    tracking_number: s.tracking_number ?? null
  }
}

function createIntent (ctx: Ctx, p: Params, request: RequestInfo): Obj {
  const amount = toInt(p.amount)
  if (amount === undefined) throw paramMissing('amount')
  if (!p.currency) throw paramMissing('currency')
  if (amount < 50) throw badRequest('Amount must be at least 50 cents', 'amount', 'amount_too_small')
  const customer = p.customer ? getCustomer(ctx, String(p.customer), 'customer') : null
  const pm = p.payment_method ? resolvePaymentMethod(ctx, String(p.payment_method)) : null
  const pi = createPaymentIntent(ctx, {
    amount,
    currency: String(p.currency).toLowerCase(),
    customer: customer?.id ?? null,
    description: nullable(p.description) ?? null,
    metadata: mergeMetadata({}, p.metadata),
    payment_method: pm?.id ?? null,
    payment_method_types: Array.isArray(p.payment_method_types) ? p.payment_method_types : ['card'],
    automatic_payment_methods: p.automatic_payment_methods ? { allow_redirects: p.automatic_payment_methods.allow_redirects ?? 'always', enabled: toBool(p.automatic_payment_methods.enabled) ?? true } : null,
    receipt_email: nullable(p.receipt_email) ?? null,
    setup_future_usage: nullable(p.setup_future_usage) ?? null,
    capture_method: p.capture_method,
    confirmation_method: p.confirmation_method,
    shipping: p.shipping ? shippingOf(p.shipping) : null
  }, {}, request)
  return toBool(p.confirm) ? confirm(ctx, pi, { off_session: p.off_session }, request) : pi
}

const SHIPPING = P.obj({
  name: P.str,
  phone: P.str,
  carrier: P.str,
  tracking_number: P.str,
  address: P.obj({ city: P.str, country: P.str, line1: P.str, line2: P.str, postal_code: P.str, state: P.str })
})

const INTENT_FIELDS = {
  amount: P.int,
  currency: P.str,
  customer: P.str,
  description: P.str,
  metadata: P.map,
  payment_method: P.str,
  receipt_email: P.str,
  setup_future_usage: P.enum('off_session', 'on_session')
}

export const paymentIntentRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/payment_intents',
    params: {
      ...INTENT_FIELDS,
      automatic_payment_methods: P.obj({ enabled: P.bool, allow_redirects: P.enum('always', 'never') }),
      capture_method: P.enum('automatic', 'automatic_async', 'manual'),
      confirmation_method: P.enum('automatic', 'manual'),
      confirm: P.bool,
      mandate_data: P.any,
      shipping: SHIPPING,
      off_session: P.either(P.bool, P.enum('one_off', 'recurring')),
      payment_method_types: P.arr(P.str),
      return_url: P.str,
      statement_descriptor: P.str,
      statement_descriptor_suffix: P.str
    },
    handler: (ctx, req) => createIntent(ctx, req.body, req.request)
  },
  { method: 'GET', path: '/v1/payment_intents/:id', params: { client_secret: P.str }, handler: (ctx, req) => getPaymentIntent(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/payment_intents/:id',
    params: { ...INTENT_FIELDS },
    handler: (ctx, req) => {
      const p = req.body
      return updateAndEmit(ctx, 'payment_intent.updated', getPaymentIntent(ctx, req.params.id), (pi) => {
        if (p.amount !== undefined) pi.amount = toInt(p.amount)
        if (p.description !== undefined) pi.description = nullable(p.description)
        if (p.payment_method !== undefined) pi.payment_method = p.payment_method ? resolvePaymentMethod(ctx, String(p.payment_method)).id : null
        if (p.receipt_email !== undefined) pi.receipt_email = nullable(p.receipt_email)
        if (p.setup_future_usage !== undefined) pi.setup_future_usage = nullable(p.setup_future_usage)
        if (p.customer !== undefined) pi.customer = getCustomer(ctx, String(p.customer), 'customer').id
        pi.metadata = mergeMetadata(pi.metadata, p.metadata)
      }, req.request)
    }
  },
  {
    method: 'POST',
    path: '/v1/payment_intents/:id/confirm',
    params: { payment_method: P.str, off_session: P.either(P.bool, P.enum('one_off', 'recurring')), return_url: P.str, setup_future_usage: P.enum('off_session', 'on_session', ''), receipt_email: P.str },
    handler: (ctx, req) => confirm(ctx, getPaymentIntent(ctx, req.params.id), req.body, req.request)
  },
  {
    method: 'POST',
    path: '/v1/payment_intents/:id/capture',
    params: { amount_to_capture: P.int },
    handler: (ctx, req) => {
      const pi = getPaymentIntent(ctx, req.params.id)
      if (pi.status !== 'requires_capture') {
        throw badRequest(`This PaymentIntent could not be captured because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`, undefined, 'payment_intent_unexpected_state')
      }
      const amount = toInt(req.body.amount_to_capture) ?? pi.amount
      if (amount > pi.amount) throw badRequest('The amount to capture cannot be greater than the amount that was authorized.', 'amount_to_capture')
      return capturePaymentIntent(ctx, pi, amount, req.request)
    }
  },
  {
    method: 'POST',
    path: '/v1/payment_intents/:id/cancel',
    params: { cancellation_reason: P.enum('duplicate', 'fraudulent', 'requested_by_customer', 'abandoned') },
    handler: (ctx, req) => {
      const pi = getPaymentIntent(ctx, req.params.id)
      if (['succeeded', 'canceled', 'processing'].includes(pi.status)) {
        throw badRequest(`You cannot cancel this PaymentIntent because it has a status of ${pi.status}.`, undefined, 'payment_intent_unexpected_state')
      }
      return cancelPaymentIntent(ctx, pi, nullable(req.body.cancellation_reason) ?? null, req.request)
    }
  },
  {
    method: 'GET',
    path: '/v1/payment_intents',
    params: { ...LIST_PARAMS, customer: P.str, created: P.range },
    handler: (ctx, req) => {
      const q = req.body
      const items = ctx.store.newestFirst('payment_intents').filter((pi) => (!q.customer || pi.customer === q.customer) && matchesRange(pi.created, q.created))
      return listEnvelope(items, q, '/v1/payment_intents', 'payment_intent')
    }
  }
]
