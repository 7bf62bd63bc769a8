import { startSubscription, type PaymentBehavior } from '../billing/start-subscription.js'
import { PRORATION, trialEndParam, updateSubscription } from '../billing/update-subscription.js'
import { attachedPaymentMethod } from '../billing/payment-methods.js'
import { endSubscription } from '../billing/subscription-status.js'
import { pauseSubscription } from '../billing/trials.js'
import { resumeSubscription } from '../billing/resume.js'
import { endAndBill } from '../billing/renewal.js'
import { badRequest, missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, toInt, type Params } from '../wire/form.js'
import { listEnvelope, matchesRange } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { getCustomer } from './customers.js'
import { getPrice } from './prices.js'
import { redemptionsOf, type Redemption } from '../billing/discounts.js'
import { itemQuantity, upfrontAmount } from '../billing/pricing.js'
import type { Ctx } from '../context.js'
import type { ApiRequest, Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function getSubscription (ctx: Ctx, id: string): Obj {
  const sub = ctx.store.get('subscriptions', id)
  if (!sub) throw missing('subscription', id)
  return sub
}

/** A price a subscription item may take: recurring and active. */
export function recurringPrice (ctx: Ctx, id: string, param: string): Obj {
  const price = getPrice(ctx, id, param)
  if (price.type !== 'recurring') throw badRequest('The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.', param)
  if (!price.active) throw badRequest('The price specified is inactive. This field only accepts active prices.', param)
  return price
}

function createSubscription (ctx: Ctx, req: ApiRequest): Obj {
  const p = req.body
  if (!p.customer) throw paramMissing('customer')
  const customer = getCustomer(ctx, String(p.customer), 'customer')
  const rawItems: Params[] = Array.isArray(p.items) ? p.items : []
  if (rawItems.length === 0) throw paramMissing('items')
  const lines = rawItems.map((item, i) => {
    if (!item.price) throw paramMissing(`items[${i}][price]`)
    const price = recurringPrice(ctx, String(item.price), `items[${i}][price]`)
    return { price, quantity: itemQuantity(price, item.quantity, `items[${i}][quantity]`) ?? 1, metadata: mergeMetadata({}, item.metadata) }
  })
  const behavior = (p.payment_behavior ?? 'allow_incomplete') as PaymentBehavior | 'pending_if_incomplete'
  if (behavior === 'pending_if_incomplete') throw badRequest('payment_behavior=pending_if_incomplete is only supported when updating a subscription.', 'payment_behavior')
  if (p.trial_end !== undefined && p.trial_period_days !== undefined) throw badRequest('You may only specify one of these parameters: trial_end, trial_period_days.', 'trial_end')
  const now = ctx.now(customer)
  const trialEnd = trialEndParam(ctx, p.trial_end, now)
  const trialDays = toInt(p.trial_period_days) ?? (toBool(p.trial_from_plan) ? lines[0].price.recurring?.trial_period_days : undefined)
  const cancelAtPeriodEnd = toBool(p.cancel_at_period_end) ?? false
  const amount = lines.reduce((sum, l) => sum + upfrontAmount(ctx, l.price, l.quantity), 0)
  const discounts = redemptionsOf(ctx, p.discounts, 'discounts', { customerId: customer.id, at: now, amount }) as Redemption[]
  const sub = startSubscription(ctx, {
    customer,
    lines,
    metadata: mergeMetadata({}, p.metadata),
    paymentBehavior: behavior,
    paymentMethod: p.default_payment_method ? attachedPaymentMethod(ctx, String(p.default_payment_method), customer.id, 'default_payment_method') : null,
    trialEnd: typeof trialEnd === 'number' ? trialEnd : trialDays ? now + trialDays * 86_400 : null,
    fields: {
      cancel_at: toInt(p.cancel_at) ?? null,
      collection_method: p.collection_method ?? 'charge_automatically',
      days_until_due: toInt(p.days_until_due) ?? null,
      description: nullable(p.description) ?? null,
      payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: p.payment_settings?.save_default_payment_method ?? 'off' },
      trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: p.trial_settings?.end_behavior?.missing_payment_method ?? 'create_invoice' } }
    },
    discounts,
    request: req.request
  })
  if (cancelAtPeriodEnd) {
    Object.assign(sub, { cancel_at_period_end: true, cancel_at: sub.items.data[0].current_period_end, canceled_at: now })
    sub.cancellation_details.reason = 'cancellation_requested'
  }
  return sub
}

const ITEM = P.obj({ id: P.str, price: P.str, quantity: P.int, metadata: P.map, deleted: P.bool })
const DISCOUNTS = P.arr(P.obj({ coupon: P.str, discount: P.str, promotion_code: P.str }))
const TRIAL_SETTINGS = P.obj({ end_behavior: P.obj({ missing_payment_method: P.enum('cancel', 'create_invoice', 'pause') }) })
const COMMON = {
  cancel_at: P.int,
  cancel_at_period_end: P.bool,
  collection_method: P.enum('charge_automatically', 'send_invoice'),
  days_until_due: P.int,
  default_payment_method: P.str,
  description: P.str,
  discounts: DISCOUNTS,
  metadata: P.map,
  off_session: P.bool,
  payment_settings: P.obj({ save_default_payment_method: P.enum('off', 'on_subscription'), payment_method_types: P.arr(P.str) }),
  proration_behavior: P.enum(...PRORATION),
  trial_end: P.either(P.enum('now'), P.int),
  trial_settings: TRIAL_SETTINGS
}

export const subscriptionRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/subscriptions',
    params: {
      ...COMMON,
      customer: P.str,
      items: P.arr(ITEM),
      currency: P.str,
      payment_behavior: P.enum('allow_incomplete', 'error_if_incomplete', 'pending_if_incomplete', 'default_incomplete'),
      trial_from_plan: P.bool,
      trial_period_days: P.int
    },
    handler: createSubscription
  },
  { method: 'GET', path: '/v1/subscriptions/:id', params: {}, handler: (ctx, req) => getSubscription(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/subscriptions/:id',
    params: {
      ...COMMON,
      items: P.arr(ITEM),
      payment_behavior: P.enum('allow_incomplete', 'error_if_incomplete', 'pending_if_incomplete', 'default_incomplete'),
      pause_collection: P.obj({ behavior: P.enum('keep_as_draft', 'mark_uncollectible', 'void'), resumes_at: P.int }),
      cancellation_details: P.obj({ comment: P.str, feedback: P.str }),
      proration_date: P.int
    },
    handler: (ctx, req) => updateSubscription(ctx, getSubscription(ctx, req.params.id), req.body, req.request, (id, param) => recurringPrice(ctx, id, param))
  },
  {
    method: 'DELETE',
    path: '/v1/subscriptions/:id',
    params: { invoice_now: P.bool, prorate: P.bool, cancellation_details: P.obj({ comment: P.str, feedback: P.str }) },
    handler: (ctx, req) => {
      const sub = getSubscription(ctx, req.params.id)
      const details = req.body.cancellation_details
      if (details) for (const field of ['comment', 'feedback'] as const) if (details[field] !== undefined) sub.cancellation_details[field] = nullable(details[field])
      if (['canceled', 'incomplete_expired'].includes(sub.status)) return sub
      // `invoice_now` bills the outstanding usage (and pending prorations) on a final invoice.
      if (toBool(req.body.invoice_now)) endAndBill(ctx, sub, 'cancellation_requested', req.request)
      else endSubscription(ctx, sub, 'cancellation_requested', req.request)
      return sub
    }
  },
  {
    method: 'POST',
    path: '/v1/subscriptions/:id/pause',
    params: { type: P.enum('subscription'), invoicing_behavior: P.enum('invoice', 'pending_invoice_item'), bill_for: P.any },
    handler: (ctx, req) => {
      const sub = getSubscription(ctx, req.params.id)
      if (!['active', 'trialing', 'past_due'].includes(sub.status)) throw badRequest(`A subscription with status ${sub.status} cannot be paused.`, undefined, 'subscription_pause_unavailable')
      pauseSubscription(ctx, sub, req.request)
      return sub
    }
  },
  {
    method: 'POST',
    path: '/v1/subscriptions/:id/resume',
    params: {
      billing_cycle_anchor: P.either(P.enum('now', 'unchanged'), P.obj({ type: P.enum('now', 'unchanged') })),
      payment_behavior: P.enum('resume_on_payment_attempt', 'resume_on_payment_success'),
      proration_behavior: P.enum(...PRORATION),
      proration_date: P.int
    },
    handler: (ctx, req) => resumeSubscription(ctx, getSubscription(ctx, req.params.id), req.body, req.request)
  },
  {
    method: 'GET',
    path: '/v1/subscriptions',
    params: {
      ...LIST_PARAMS,
      customer: P.str,
      price: P.str,
      status: P.enum('active', 'all', 'canceled', 'ended', 'incomplete', 'incomplete_expired', 'past_due', 'paused', 'trialing', 'unpaid'),
      test_clock: P.str,
      created: P.range,
      collection_method: P.str
    },
    handler: (ctx, req) => {
      const q = req.body
      // Stripe hides canceled subscriptions unless asked for them by status.
      const status = q.status ?? 'live'
      const ended = (s: Obj) => s.status === 'canceled' || s.status === 'incomplete_expired'
      const items = ctx.store.newestFirst('subscriptions').filter(
        (s) =>
          (!q.customer || s.customer === q.customer) &&
          (!q.price || s.items.data.some((it: Obj) => it.price.id === q.price)) &&
          (!q.test_clock || s.test_clock === q.test_clock) &&
          matchesRange(s.created, q.created) &&
          (status === 'all' || (status === 'live' ? !ended(s) : status === 'ended' ? ended(s) : s.status === status))
      )
      return listEnvelope(items, q, '/v1/subscriptions', 'subscription')
    }
  }
]
