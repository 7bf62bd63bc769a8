import { startNextPeriod } from './renewal.js'
import { defaultPaymentMethod } from './payment-methods.js'
import { endSubscription } from './subscription-status.js'
import { previousAttributes, type RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

const NOTICE_SECONDS = 3 * 86_400

/** `customer.subscription.trial_will_end` is due three days before the trial ends (at once for a shorter trial). */
export function trialNoticeDue (ctx: Ctx, sub: Obj): number | undefined {
  if (sub.status !== 'trialing' || !sub.trial_end) return undefined
  if (ctx.store.internal(sub.id).trialNoticeFor === sub.trial_end) return undefined
  return Math.max(sub.trial_end - NOTICE_SECONDS, sub.start_date)
}

export function sendTrialNotice (ctx: Ctx, sub: Obj, request?: RequestInfo): void {
  ctx.store.internal(sub.id).trialNoticeFor = sub.trial_end
  ctx.emit('customer.subscription.trial_will_end', sub, { request })
}

/** Moves a subscription to `paused`: no invoices, no new periods until it is resumed. */
export function pauseSubscription (ctx: Ctx, sub: Obj, request?: RequestInfo): void {
  const before = structuredClone(sub)
  sub.status = 'paused'
  ctx.emit('customer.subscription.updated', sub, { request, previous: previousAttributes(before, sub) })
  ctx.emit('customer.subscription.paused', sub, { request })
}

/**
 * The trial is over: with a payment method the subscription starts its first paid period (paid, or
 * past_due when the charge fails); without one, `trial_settings.end_behavior.missing_payment_method`
 * decides: cancel it, pause it, or invoice anyway (the invoice fails and the subscription is past_due).
 */
export function endTrial (ctx: Ctx, sub: Obj, request?: RequestInfo): void {
  const now = ctx.now(sub)
  const missing = sub.trial_settings?.end_behavior?.missing_payment_method ?? 'create_invoice'
  if (!defaultPaymentMethod(ctx, sub.customer, sub) && missing !== 'create_invoice') {
    if (sub.trial_end > now) sub.trial_end = now
    if (missing === 'cancel') endSubscription(ctx, sub, null, request)
    else pauseSubscription(ctx, sub, request)
    return
  }
  startNextPeriod(ctx, sub, now, (s) => {
    s.status = 'active'
    s.trial_end = now
    s.billing_cycle_anchor = now
  }, request)
}
