import { changeItemPrice, invoiceNow } from './change-plan.js'
import { subscriptionItem } from './build.js'
import { createInvoiceItem } from './invoice-items.js'
import { attachedPaymentMethod } from './payment-methods.js'
import { endTrial } from './trials.js'
import { productName } from './invoice-lines.js'
import { amountFor, isMetered, itemQuantity } from './pricing.js'
import { subscriptionDiscountsUpdate } from './discounts.js'
import { previousAttributes, type RequestInfo } from '../events.js'
import { badRequest, missing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, toInt, type Params } from '../wire/form.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export const PRORATION = ['create_prorations', 'always_invoice', 'none']
const ENDED = ['canceled', 'incomplete_expired']

export interface PriceLookup {
  (id: string, param: string): Obj
}

/** `trial_end` as Stripe takes it: `now`, or a timestamp that must lie in the future. */
export function trialEndParam (ctx: Ctx, value: unknown, now: number): number | 'now' | undefined {
  if (value === undefined || value === '') return undefined
  if (value === 'now') return 'now'
  const at = toInt(value)
  if (at === undefined || at <= now) throw badRequest('Invalid timestamp: must be an integer Unix timestamp in the future.', 'trial_end')
  return at
}

function changeItems (ctx: Ctx, sub: Obj, changes: Obj[], behavior: string, getPrice: PriceLookup): Obj[] {
  const prorations: Obj[] = []
  const customer = ctx.store.get('customers', sub.customer)!
  const now = ctx.now(sub)
  const period = { start: sub.items.data[0].current_period_start, end: sub.items.data[0].current_period_end }
  const fraction = period.end > period.start ? Math.max(0, Math.min(1, (period.end - now) / (period.end - period.start))) : 0
  const prorate = (item: Obj, sign: 1 | -1, description: string) => {
    // Metered items bill their usage in arrears: nothing to prorate.
    if (behavior === 'none' || sub.status === 'trialing' || isMetered(item.price)) return
    prorations.push(createInvoiceItem(ctx, {
      customer, sub, subscriptionItem: item.id, price: item.price, quantity: item.quantity, proration: true, period: { start: now, end: period.end },
      amount: sign * Math.round(amountFor(ctx, item.price, item.quantity) * fraction), currency: item.price.currency, description
    }))
  }
  changes.forEach((change, i) => {
    if (!change.id) {
      if (!change.price) throw badRequest('Each new item needs a price.', `items[${i}][price]`)
      const price = getPrice(String(change.price), `items[${i}][price]`)
      const item = subscriptionItem(ctx, sub.id, { price, quantity: itemQuantity(price, change.quantity, `items[${i}][quantity]`) ?? 1, metadata: mergeMetadata({}, change.metadata) }, period.start, period.end)
      item.created = now
      sub.items.data.push(item)
      prorate(item, 1, `Remaining time on ${productName(ctx, item.price.product)}`)
      return
    }
    const item = sub.items.data.find((it: Obj) => it.id === change.id)
    if (!item) throw missing('subscription_item', String(change.id), `items[${i}][id]`)
    if (toBool(change.deleted)) {
      if (sub.items.data.length === 1) throw badRequest('A subscription must keep at least one item; cancel the subscription instead.', `items[${i}][deleted]`)
      prorate(item, -1, `Unused time on ${productName(ctx, item.price.product)}`)
      sub.items.data = sub.items.data.filter((it: Obj) => it !== item)
      return
    }
    const price = change.price ? getPrice(String(change.price), `items[${i}][price]`) : item.price
    const quantity = itemQuantity(price, change.quantity, `items[${i}][quantity]`) ?? item.quantity ?? 1
    if (price.id !== item.price.id || quantity !== item.quantity) prorations.push(...changeItemPrice(ctx, sub, item, price, quantity, behavior))
    if (change.metadata !== undefined) item.metadata = mergeMetadata(item.metadata, change.metadata)
  })
  return prorations
}

function setCancellation (ctx: Ctx, sub: Obj, p: Params): void {
  const atPeriodEnd = toBool(p.cancel_at_period_end)
  const cancelAt = p.cancel_at === '' ? null : toInt(p.cancel_at)
  if (atPeriodEnd !== undefined && atPeriodEnd !== sub.cancel_at_period_end) {
    sub.cancel_at_period_end = atPeriodEnd
    sub.cancel_at = atPeriodEnd ? sub.items.data[0].current_period_end : null
  } else if (cancelAt !== undefined) {
    sub.cancel_at = cancelAt
    sub.cancel_at_period_end = false
  }
  if (atPeriodEnd !== undefined || cancelAt !== undefined) {
    const pending = sub.cancel_at !== null
    sub.canceled_at = pending ? ctx.now(sub) : null
    sub.cancellation_details = { ...sub.cancellation_details, reason: pending ? 'cancellation_requested' : null }
  }
  if (p.cancellation_details) {
    for (const field of ['comment', 'feedback'] as const) {
      if (p.cancellation_details[field] !== undefined) sub.cancellation_details[field] = nullable(p.cancellation_details[field])
    }
  }
}

function setTrial (ctx: Ctx, sub: Obj, trialEnd: number): void {
  sub.trial_end = trialEnd
  sub.trial_start = sub.trial_start ?? ctx.now(sub)
  if (!['trialing', 'active'].includes(sub.status)) return
  sub.status = 'trialing'
  for (const item of sub.items.data) item.current_period_end = trialEnd
}

/** `POST /v1/subscriptions/:id`: one `customer.subscription.updated` for everything changed, prorations before it. */
export function updateSubscription (ctx: Ctx, sub: Obj, p: Params, request: RequestInfo, getPrice: PriceLookup): Obj {
  const restricted = Object.keys(p).filter((k) => !['metadata', 'cancellation_details', 'expand'].includes(k))
  if (ENDED.includes(sub.status) && restricted.length > 0) {
    throw badRequest('A canceled subscription can only update its cancellation_details and metadata.', restricted[0])
  }
  const behavior = p.proration_behavior ?? 'create_prorations'
  const trialEnd = trialEndParam(ctx, p.trial_end, ctx.now(sub))
  const discounts = p.discounts !== undefined ? subscriptionDiscountsUpdate(ctx, sub, p.discounts) : undefined
  const before = structuredClone(sub)
  discounts?.(request)
  const prorations = Array.isArray(p.items) ? changeItems(ctx, sub, p.items, behavior, getPrice) : []
  setCancellation(ctx, sub, p)
  if (typeof trialEnd === 'number') setTrial(ctx, sub, trialEnd)
  if (p.trial_settings?.end_behavior?.missing_payment_method) {
    sub.trial_settings = { end_behavior: { ...sub.trial_settings.end_behavior, missing_payment_method: p.trial_settings.end_behavior.missing_payment_method } }
  }
  if (p.default_payment_method !== undefined) {
    sub.default_payment_method = p.default_payment_method === '' ? null : attachedPaymentMethod(ctx, String(p.default_payment_method), sub.customer, 'default_payment_method').id
  }
  if (p.pause_collection !== undefined) {
    sub.pause_collection = p.pause_collection === '' ? null : { behavior: p.pause_collection.behavior, resumes_at: toInt(p.pause_collection.resumes_at) ?? null }
  }
  if (p.description !== undefined) sub.description = nullable(p.description)
  if (p.payment_settings?.save_default_payment_method) sub.payment_settings.save_default_payment_method = p.payment_settings.save_default_payment_method
  sub.metadata = mergeMetadata(sub.metadata, p.metadata)
  for (const ii of prorations) ctx.emit('invoiceitem.created', ii, { request })
  if (prorations.length > 0 && behavior === 'always_invoice') invoiceNow(ctx, sub, request)
  const previous = previousAttributes(before, sub)
  if (Object.keys(previous).length > 0) ctx.emit('customer.subscription.updated', sub, { request, previous })
  if (trialEnd === 'now' && sub.status === 'trialing') endTrial(ctx, sub, request)
  return sub
}
