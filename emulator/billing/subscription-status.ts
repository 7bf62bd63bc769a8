import { updateAndEmit, type RequestInfo } from '../events.js'
import { subscriptionIdOf } from './invoices.js'
import { subscriptionEnded } from './schedules.js'
import type { IntentOutcome } from './intents.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export function endSubscription (ctx: Ctx, sub: Obj, reason: string | null, request?: RequestInfo): void {
  const now = ctx.now(sub)
  sub.status = 'canceled'
  sub.ended_at = now
  sub.canceled_at = sub.canceled_at ?? now
  sub.cancellation_details = { ...sub.cancellation_details, reason: sub.cancellation_details.reason ?? reason }
  if (sub.schedule) subscriptionEnded(ctx, sub, reason, request)
  ctx.emit('customer.subscription.deleted', sub, { request })
}

export function setStatus (ctx: Ctx, sub: Obj, status: string, request?: RequestInfo): void {
  if (sub.status !== status) updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => (s.status = status), request)
}

/** A running subscription whose trial is not over yet is `trialing`, else `active`. */
export const runningStatus = (ctx: Ctx, sub: Obj) => (sub.trial_end && sub.trial_end > ctx.now(sub) ? 'trialing' : 'active')

/**
 * A subscription follows the payments of its invoices: a paid latest invoice makes it active again;
 * a failed one makes it past_due, and when the retries run out it is canceled, left unpaid or left
 * past_due, as the account's settings say. An incomplete subscription waits (or expires) instead.
 */
export function afterInvoicePayment (ctx: Ctx, invoice: Obj, outcome: IntentOutcome | 'no_payment_method', request?: RequestInfo): void {
  const sub = ctx.store.get('subscriptions', subscriptionIdOf(invoice) ?? '')
  if (!sub || ['canceled', 'incomplete_expired'].includes(sub.status)) return
  if (outcome === 'succeeded') {
    if (sub.latest_invoice === invoice.id && ['incomplete', 'past_due', 'unpaid'].includes(sub.status)) setStatus(ctx, sub, runningStatus(ctx, sub), request)
    return
  }
  if (outcome === 'processing' || sub.status === 'incomplete' || sub.status === 'paused') return
  if (!ctx.store.internal(invoice.id).retriesExhausted) {
    setStatus(ctx, sub, 'past_due', request)
    return
  }
  const fate = ctx.settings.retriesExhausted
  if (fate === 'cancel') endSubscription(ctx, sub, 'payment_failed', request)
  else setStatus(ctx, sub, fate, request)
}
