import { createInvoice, finalizeInvoice, markUncollectible, pendingItemsOf, voidInvoice } from './invoices.js'
import { payInvoice } from './invoice-payments.js'
import { periodEnd } from './build.js'
import { isMetered } from './pricing.js'
import { endSubscription } from './subscription-status.js'
import { updateAndEmit, type RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

/**
 * Starts the subscription's next period at `from` (its current period end, or the moment a trial or
 * pause ends): new item periods, the invoice for it with pending prorations, then collection.
 * `mutate` runs inside the same `customer.subscription.updated` (a trial ending also changes status).
 */
export function startNextPeriod (ctx: Ctx, sub: Obj, from: number, mutate: (s: Obj) => void = () => {}, request?: RequestInfo): Obj {
  const customer = ctx.store.get('customers', sub.customer)!
  let invoice!: Obj
  updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => {
    const oldStart = s.items.data[0].current_period_start
    // Usage during a trial is not billed.
    const usage = s.status === 'trialing' ? undefined : { start: oldStart, end: from }
    for (const item of s.items.data) {
      item.current_period_start = from
      item.current_period_end = periodEnd(item.price, from)
    }
    mutate(s)
    invoice = createInvoice(ctx, {
      customer,
      sub: s,
      billingReason: 'subscription_cycle',
      periodStart: oldStart,
      periodEnd: from,
      items: { period: { start: from, end: s.items.data[0].current_period_end }, usage },
      pending: pendingItemsOf(ctx, s.id)
    })
    ctx.emit('invoice.created', invoice, { request })
  }, request)
  collect(ctx, sub, invoice, request)
  return invoice
}

export function renew (ctx: Ctx, sub: Obj): void {
  startNextPeriod(ctx, sub, sub.items.data[0].current_period_end)
}

/**
 * Finalizes and charges a subscription's new invoice, unless collection is paused (the invoice is
 * kept as a draft, marked uncollectible or voided, as `pause_collection.behavior` says) or the
 * subscription is `unpaid` (Stripe keeps invoicing but stops charging).
 */
export function collect (ctx: Ctx, sub: Obj, invoice: Obj, request?: RequestInfo): void {
  const behavior = sub.pause_collection?.behavior
  if (behavior === 'keep_as_draft') return
  finalizeInvoice(ctx, invoice, request)
  if (behavior === 'mark_uncollectible') markUncollectible(ctx, invoice, request)
  else if (behavior === 'void') voidInvoice(ctx, invoice, request)
  else if (sub.status !== 'unpaid') payInvoice(ctx, invoice, { request })
}

/**
 * A subscription that ends now with metered items gets a final invoice for what its meters counted
 * since its period started (and its pending prorations), as Stripe invoices outstanding usage.
 * Usage during a trial is not billed.
 */
export function billFinalUsage (ctx: Ctx, sub: Obj, wasTrialing: boolean, request?: RequestInfo): void {
  if (wasTrialing || !sub.items.data.some((item: Obj) => isMetered(item.price))) return
  const customer = ctx.store.get('customers', sub.customer)!
  const start = sub.items.data[0].current_period_start
  const end = ctx.now(sub)
  const invoice = createInvoice(ctx, {
    customer,
    sub,
    billingReason: 'subscription_cycle',
    periodStart: start,
    periodEnd: end,
    items: { period: { start, end }, usage: { start, end, inclusive: true }, usageOnly: true },
    pending: pendingItemsOf(ctx, sub.id)
  })
  ctx.emit('invoice.created', invoice, { request })
  collect(ctx, sub, invoice, request)
}

/** Ends a subscription now (`customer.subscription.deleted`), then bills its outstanding usage. */
export function endAndBill (ctx: Ctx, sub: Obj, reason: string | null, request?: RequestInfo): void {
  const wasTrialing = sub.status === 'trialing'
  endSubscription(ctx, sub, reason, request)
  billFinalUsage(ctx, sub, wasTrialing, request)
}
