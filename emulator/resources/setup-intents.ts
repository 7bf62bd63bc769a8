import { cancelSetupIntent, confirmSetupIntent, createSetupIntent } from '../billing/setup-intents.js'
import { resolvePaymentMethod } from '../billing/payment-methods.js'
import { updateAndEmit } from '../events.js'
import { badRequest, missing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, type Params } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { getCustomer } from './customers.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function getSetupIntent (ctx: Ctx, id: string): Obj {
  const si = ctx.store.get('setup_intents', id)
  if (!si) throw missing('setup_intent', id)
  return si
}

function confirm (ctx: Ctx, si: Obj, p: Params, request: RequestInfo): Obj {
  if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(si.status)) {
    throw badRequest(`This SetupIntent's status is ${si.status}, so it cannot be confirmed.`, undefined, 'setup_intent_unexpected_state')
  }
  const pmId = p.payment_method ?? si.payment_method
  if (!pmId) throw badRequest('You cannot confirm this SetupIntent because it\'s missing a payment method.', 'payment_method', 'setup_intent_unexpected_state')
  confirmSetupIntent(ctx, si, resolvePaymentMethod(ctx, String(pmId)), request)
  return si
}

const FIELDS = { customer: P.str, description: P.str, metadata: P.map, payment_method: P.str, payment_method_types: P.arr(P.str) }

export const setupIntentRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/setup_intents',
    params: { ...FIELDS, confirm: P.bool, usage: P.enum('off_session', 'on_session'), return_url: P.str, automatic_payment_methods: P.obj({ enabled: P.bool, allow_redirects: P.enum('always', 'never') }) },
    handler: (ctx, req) => {
      const p = req.body
      const customer = p.customer ? getCustomer(ctx, String(p.customer), 'customer') : null
      const pm = p.payment_method ? resolvePaymentMethod(ctx, String(p.payment_method)) : null
      const si = createSetupIntent(ctx, {
        customer: customer?.id ?? null,
        description: nullable(p.description) ?? null,
        metadata: mergeMetadata({}, p.metadata),
        payment_method: pm?.id ?? null,
        payment_method_types: Array.isArray(p.payment_method_types) ? p.payment_method_types : ['card'],
        usage: p.usage
      }, req.request)
      return toBool(p.confirm) ? confirm(ctx, si, {}, req.request) : si
    }
  },
  { method: 'GET', path: '/v1/setup_intents/:id', params: { client_secret: P.str }, handler: (ctx, req) => getSetupIntent(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/setup_intents/:id',
    params: FIELDS,
    handler: (ctx, req) => updateAndEmit(ctx, 'setup_intent.updated', getSetupIntent(ctx, req.params.id), (si) => {
      const p = req.body
      if (p.description !== undefined) si.description = nullable(p.description)
      if (p.payment_method !== undefined) si.payment_method = p.payment_method ? resolvePaymentMethod(ctx, String(p.payment_method)).id : null
      if (p.customer !== undefined) si.customer = getCustomer(ctx, String(p.customer), 'customer').id
      si.metadata = mergeMetadata(si.metadata, p.metadata)
    }, req.request)
  },
  {
    method: 'POST',
    path: '/v1/setup_intents/:id/confirm',
    params: { payment_method: P.str, return_url: P.str },
    handler: (ctx, req) => confirm(ctx, getSetupIntent(ctx, req.params.id), req.body, req.request)
  },
  {
    method: 'POST',
    path: '/v1/setup_intents/:id/cancel',
    params: { cancellation_reason: P.enum('abandoned', 'duplicate', 'requested_by_customer') },
    handler: (ctx, req) => {
      const si = getSetupIntent(ctx, req.params.id)
      if (['succeeded', 'canceled'].includes(si.status)) {
        throw badRequest(`You cannot cancel this SetupIntent because it has a status of ${si.status}.`, undefined, 'setup_intent_unexpected_state')
      }
      return cancelSetupIntent(ctx, si, nullable(req.body.cancellation_reason) ?? null, req.request)
    }
  },
  {
    method: 'GET',
    path: '/v1/setup_intents',
    params: { ...LIST_PARAMS, customer: P.str, payment_method: P.str },
    handler: (ctx, req) => {
      const q = req.body
      const items = ctx.store.newestFirst('setup_intents').filter((si) => (!q.customer || si.customer === q.customer) && (!q.payment_method || si.payment_method === q.payment_method))
      return listEnvelope(items, q, '/v1/setup_intents', 'setup_intent')
    }
  }
]
