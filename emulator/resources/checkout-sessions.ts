import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { badRequest, missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toInt } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { getCustomer } from './customers.js'
import { getPrice } from './prices.js'
import type { Ctx } from '../context.js'
import type { ApiRequest, Route } from '../http/route.js'
import type { Obj } from '../store.js'

function createSession (ctx: Ctx, req: ApiRequest): Obj {
  const p = req.body
  if (!p.mode) throw paramMissing('mode')
  if (p.mode !== 'subscription') throw badRequest('The emulator supports only mode=subscription.', 'mode')
  const rawItems = Array.isArray(p.line_items) ? p.line_items : []
  if (rawItems.length === 0) throw paramMissing('line_items')
  const lineItems = rawItems.map((li: Obj, i: number) => {
    if (!li.price) throw paramMissing(`line_items[${i}][price]`)
    const price = getPrice(ctx, String(li.price), `line_items[${i}][price]`)
    if (price.type !== 'recurring') {
      throw badRequest('You must provide at least one recurring price in `subscription` mode when using prices.', `line_items[${i}][price]`)
    }
    return { price, quantity: toInt(li.quantity) ?? 1 }
  })
  const customer = p.customer ? getCustomer(ctx, String(p.customer), 'customer') : null
  const amount = lineItems.reduce((sum: number, li: Obj) => sum + li.price.unit_amount * li.quantity, 0)
  const now = ctx.now(customer)
  const id = newId('cs_test')
  const session = fromTemplate(ctx.templates, 'checkoutSession', {
    amount_subtotal: amount,
    amount_total: amount,
    cancel_url: nullable(p.cancel_url) ?? null,
    client_reference_id: nullable(p.client_reference_id) ?? null,
    created: now,
    currency: lineItems[0].price.currency,
    customer: customer?.id ?? null,
    customer_email: customer ? null : nullable(p.customer_email) ?? null,
    expires_at: now + 24 * 3600,
    id,
    metadata: mergeMetadata({}, p.metadata),
    success_url: nullable(p.success_url) ?? null,
    url: `${ctx.baseUrl()}/checkout/${id}`
  })
  ctx.store.put('checkout_sessions', session)
  ctx.store.sessionDetails.set(id, {
    lineItems: lineItems.map((li: Obj) => ({ price: li.price.id, quantity: li.quantity })),
    subscriptionMetadata: mergeMetadata({}, p.subscription_data?.metadata)
  })
  return session
}

export function getSession (ctx: Ctx, id: string): Obj {
  const session = ctx.store.get('checkout_sessions', id)
  if (!session) throw missing('checkout.session', id)
  return session
}

export const checkoutSessionRoutes: Route[] = [
  { method: 'POST', path: '/v1/checkout/sessions', handler: createSession },
  { method: 'GET', path: '/v1/checkout/sessions/:id', handler: (ctx, req) => getSession(ctx, req.params.id) },
  {
    method: 'GET',
    path: '/v1/checkout/sessions',
    handler: (ctx, req) => {
      const q = req.body
      const items = ctx.store.newestFirst('checkout_sessions').filter(
        (s) => (!q.customer || s.customer === q.customer) && (!q.subscription || s.subscription === q.subscription) && (!q.status || s.status === q.status)
      )
      return listEnvelope(items, q, '/v1/checkout/sessions', 'checkout.session')
    }
  }
]
