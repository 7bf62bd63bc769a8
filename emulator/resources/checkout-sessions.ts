import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { badRequest, missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, toInt, type Params } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { priceSession } from '../billing/checkout.js'
import { expireSession } from '../billing/checkout-async.js'
import { checkoutLineItems } from '../render.js'
import { sessionDiscounts } from '../billing/checkout-discounts.js'
import { itemQuantity } from '../billing/pricing.js'
import { getCustomer } from './customers.js'
import { getPrice } from './prices.js'
import type { Ctx } from '../context.js'
import type { ApiRequest, Route } from '../http/route.js'
import type { Obj } from '../store.js'

const MIN_EXPIRY = 30 * 60
const MAX_EXPIRY = 24 * 3600

function lineItemsOf (ctx: Ctx, mode: string, raw: unknown): { price: Obj, quantity: number }[] {
  const items: Params[] = Array.isArray(raw) ? raw : []
  if (mode === 'setup') {
    if (items.length > 0) throw badRequest('You cannot pass `line_items` in `setup` mode.', 'line_items')
    return []
  }
  if (items.length === 0) throw paramMissing('line_items')
  const lines = items.map((li, i) => {
    if (!li.price) throw paramMissing(`line_items[${i}][price]`)
    const price = getPrice(ctx, String(li.price), `line_items[${i}][price]`)
    return { price, quantity: itemQuantity(price, li.quantity, `line_items[${i}][quantity]`) ?? 1 }
  })
  if (mode === 'subscription' && !lines.some((l) => l.price.type === 'recurring')) {
    throw badRequest('You must provide at least one recurring price in `subscription` mode when using prices.', 'line_items')
  }
  if (mode === 'payment' && lines.some((l) => l.price.type === 'recurring')) {
    throw badRequest('You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.', 'line_items')
  }
  return lines
}

function createSession (ctx: Ctx, req: ApiRequest): Obj {
  const p = req.body
  if (!p.mode) throw paramMissing('mode')
  const mode = String(p.mode)
  const lines = lineItemsOf(ctx, mode, p.line_items)
  if (p.allow_promotion_codes !== undefined && p.discounts !== undefined) {
    throw badRequest('You may only specify one of these parameters: allow_promotion_codes, discounts.', 'discounts')
  }
  if (p.payment_method_collection === 'if_required' && mode !== 'subscription') {
    throw badRequest('`payment_method_collection=if_required` is only supported in `subscription` mode.', 'payment_method_collection')
  }
  const customer = p.customer ? getCustomer(ctx, String(p.customer), 'customer') : null
  const now = ctx.now(customer)
  const expiresAt = toInt(p.expires_at) ?? now + MAX_EXPIRY
  if (expiresAt < now + MIN_EXPIRY || expiresAt > now + MAX_EXPIRY) {
    throw badRequest('The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.', 'expires_at')
  }
  const data = p.subscription_data ?? {}
  if (data.trial_end !== undefined && toInt(data.trial_end)! <= now + 2 * 86_400) {
    throw badRequest('`subscription_data[trial_end]` must be at least 48 hours in the future.', 'subscription_data[trial_end]')
  }
  const id = newId('cs_test')
  const session = fromTemplate(ctx.templates, 'checkoutSession', {
    allow_promotion_codes: toBool(p.allow_promotion_codes) ?? null,
    cancel_url: nullable(p.cancel_url) ?? null,
    client_reference_id: nullable(p.client_reference_id) ?? null,
    created: now,
    currency: lines[0]?.price.currency ?? (p.currency ? String(p.currency).toLowerCase() : null),
    customer: customer?.id ?? null,
    customer_creation: customer ? null : mode === 'payment' ? p.customer_creation ?? 'if_required' : 'always',
    customer_email: customer ? null : nullable(p.customer_email) ?? null,
    discounts: sessionDiscounts(ctx, p.discounts, customer?.id ?? null, now),
    expires_at: expiresAt,
    id,
    metadata: mergeMetadata({}, p.metadata),
    mode,
    payment_method_collection: mode === 'subscription' ? p.payment_method_collection ?? 'always' : null,
    payment_method_types: Array.isArray(p.payment_method_types) ? p.payment_method_types : ['card'],
    success_url: nullable(p.success_url) ?? null,
    url: `${ctx.baseUrl()}/checkout/${id}`
  })
  ctx.store.sessionDetails.set(id, {
    lineItems: lines.map((l) => ({ id: newId('li'), price: l.price.id, quantity: l.quantity })),
    subscriptionData: {
      metadata: mergeMetadata({}, data.metadata),
      description: nullable(data.description) ?? null,
      trialEnd: toInt(data.trial_end) ?? null,
      trialPeriodDays: toInt(data.trial_period_days) ?? null,
      missingPaymentMethod: data.trial_settings?.end_behavior?.missing_payment_method ?? 'create_invoice'
    },
    paymentIntentData: {
      metadata: mergeMetadata({}, p.payment_intent_data?.metadata),
      description: nullable(p.payment_intent_data?.description) ?? null,
      setupFutureUsage: nullable(p.payment_intent_data?.setup_future_usage) ?? null
    },
    setupIntentData: { metadata: mergeMetadata({}, p.setup_intent_data?.metadata), description: nullable(p.setup_intent_data?.description) ?? null }
  })
  if (mode === 'setup') Object.assign(session, { amount_subtotal: null, amount_total: null, payment_status: 'no_payment_required' })
  else priceSession(ctx, session)
  ctx.store.put('checkout_sessions', session)
  return session
}

export function getSession (ctx: Ctx, id: string): Obj {
  const session = ctx.store.get('checkout_sessions', id)
  if (!session) throw missing('checkout.session', id)
  return session
}

const ADDRESS = P.obj({ line1: P.str, line2: P.str, postal_code: P.str, city: P.str, state: P.str, country: P.str })

export const checkoutSessionRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/checkout/sessions',
    params: {
      mode: P.enum('payment', 'setup', 'subscription'),
      line_items: P.arr(P.obj({ price: P.str, quantity: P.int })),
      allow_promotion_codes: P.bool,
      cancel_url: P.str,
      client_reference_id: P.str,
      currency: P.str,
      customer: P.str,
      customer_creation: P.enum('always', 'if_required'),
      customer_email: P.str,
      discounts: P.arr(P.obj({ coupon: P.str, promotion_code: P.str })),
      expires_at: P.int,
      locale: P.str,
      metadata: P.map,
      payment_intent_data: P.obj({ description: P.str, metadata: P.map, receipt_email: P.str, setup_future_usage: P.enum('off_session', 'on_session'), shipping: P.obj({ name: P.str, phone: P.str, address: ADDRESS }) }),
      payment_method_collection: P.enum('always', 'if_required'),
      payment_method_types: P.arr(P.str),
      setup_intent_data: P.obj({ description: P.str, metadata: P.map }),
      subscription_data: P.obj({
        description: P.str,
        metadata: P.map,
        trial_end: P.int,
        trial_period_days: P.int,
        trial_settings: P.obj({ end_behavior: P.obj({ missing_payment_method: P.enum('cancel', 'create_invoice', 'pause') }) })
      }),
      success_url: P.str,
      ui_mode: P.enum('hosted_page', 'hosted')
    },
    handler: createSession
  },
  { method: 'GET', path: '/v1/checkout/sessions/:id', params: {}, handler: (ctx, req) => getSession(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/checkout/sessions/:id',
    params: { metadata: P.map },
    handler: (ctx, req) => {
      const session = getSession(ctx, req.params.id)
      session.metadata = mergeMetadata(session.metadata, req.body.metadata)
      return session
    }
  },
  { method: 'POST', path: '/v1/checkout/sessions/:id/expire', params: {}, handler: (ctx, req) => expireSession(ctx, getSession(ctx, req.params.id), req.request) },
  {
    method: 'GET',
    path: '/v1/checkout/sessions/:id/line_items',
    params: LIST_PARAMS,
    handler: (ctx, req) => listEnvelope(checkoutLineItems(ctx, getSession(ctx, req.params.id)), req.body, `/v1/checkout/sessions/${req.params.id}/line_items`, 'item')
  },
  {
    method: 'GET',
    path: '/v1/checkout/sessions',
    params: { ...LIST_PARAMS, customer: P.str, subscription: P.str, payment_intent: P.str, status: P.enum('complete', 'expired', 'open'), created: P.range },
    handler: (ctx, req) => {
      const q = req.body
      const items = ctx.store.newestFirst('checkout_sessions').filter(
        (s) => (!q.customer || s.customer === q.customer) && (!q.subscription || s.subscription === q.subscription) &&
          (!q.payment_intent || s.payment_intent === q.payment_intent) && (!q.status || s.status === q.status)
      )
      return listEnvelope(items, q, '/v1/checkout/sessions', 'checkout.session')
    }
  }
]
