import { changeItemPrice, invoiceNow } from '../billing/change-plan.js'
import { endSubscription } from '../billing/renewal.js'
import { previousAttributes } from '../events.js'
import { badRequest, missing } from '../wire/errors.js'
import { mergeMetadata, toBool, toInt } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { getPrice } from './prices.js'
import type { Ctx } from '../context.js'
import type { ApiRequest, Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function getSubscription (ctx: Ctx, id: string): Obj {
  const sub = ctx.store.get('subscriptions', id)
  if (!sub) throw missing('subscription', id)
  return sub
}

const PRORATION = new Set(['create_prorations', 'always_invoice', 'none'])

export function updateSubscription (ctx: Ctx, req: ApiRequest): Obj {
  const p = req.body
  const sub = getSubscription(ctx, req.params.id)
  if (sub.status === 'canceled' && (p.items || p.cancel_at_period_end !== undefined)) {
    throw badRequest('A canceled subscription can only update its cancellation_details and metadata.')
  }
  const behavior = p.proration_behavior ?? 'create_prorations'
  if (!PRORATION.has(behavior)) throw badRequest(`Invalid proration_behavior: ${behavior}`, 'proration_behavior')
  const before = structuredClone(sub)
  const prorations: Obj[] = []
  const items = Array.isArray(p.items) ? p.items : []
  items.forEach((change: Obj, i: number) => {
    const item = sub.items.data.find((it: Obj) => it.id === change.id)
    if (!item) throw missing('subscription item', String(change.id ?? ''), `items[${i}][id]`)
    const price = change.price ? getPrice(ctx, String(change.price), `items[${i}][price]`) : item.price
    const quantity = toInt(change.quantity) ?? item.quantity
    if (price.id !== item.price.id || quantity !== item.quantity) {
      prorations.push(...changeItemPrice(ctx, sub, item, price, quantity, behavior, req.request))
    }
  })
  const cancelAtPeriodEnd = toBool(p.cancel_at_period_end)
  if (cancelAtPeriodEnd !== undefined && cancelAtPeriodEnd !== sub.cancel_at_period_end) {
    sub.cancel_at_period_end = cancelAtPeriodEnd
    sub.cancel_at = cancelAtPeriodEnd ? sub.items.data[0].current_period_end : null
    sub.canceled_at = cancelAtPeriodEnd ? ctx.now(sub) : null
    sub.cancellation_details = { ...sub.cancellation_details, reason: cancelAtPeriodEnd ? 'cancellation_requested' : null }
  }
  sub.metadata = mergeMetadata(sub.metadata, p.metadata)
  for (const ii of prorations) ctx.emit('invoiceitem.created', ii, { request: req.request })
  if (prorations.length > 0 && behavior === 'always_invoice') invoiceNow(ctx, sub, req.request)
  const previous = previousAttributes(before, sub)
  if (Object.keys(previous).length > 0) ctx.emit('customer.subscription.updated', sub, { request: req.request, previous })
  return sub
}

export const subscriptionRoutes: Route[] = [
  { method: 'GET', path: '/v1/subscriptions/:id', handler: (ctx, req) => getSubscription(ctx, req.params.id) },
  { method: 'POST', path: '/v1/subscriptions/:id', handler: updateSubscription },
  {
    method: 'DELETE',
    path: '/v1/subscriptions/:id',
    handler: (ctx, req) => {
      const sub = getSubscription(ctx, req.params.id)
      if (sub.status !== 'canceled') endSubscription(ctx, sub, 'cancellation_requested', req.request)
      return sub
    }
  },
  {
    method: 'GET',
    path: '/v1/subscriptions',
    handler: (ctx, req) => {
      const q = req.body
      // Stripe hides canceled subscriptions unless asked for them by status.
      const status = q.status ?? 'active_or_live'
      const items = ctx.store.newestFirst('subscriptions').filter(
        (s) =>
          (!q.customer || s.customer === q.customer) &&
          (!q.price || s.items.data.some((it: Obj) => it.price.id === q.price)) &&
          (status === 'all' || (status === 'active_or_live' ? s.status !== 'canceled' : s.status === status))
      )
      return listEnvelope(items, q, '/v1/subscriptions', 'subscription')
    }
  }
]
