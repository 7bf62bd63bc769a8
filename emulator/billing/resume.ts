import { startNextPeriod } from './renewal.js'
import { previousAttributes, type RequestInfo } from '../events.js'
import { badRequest } from '../wire/errors.js'
import type { Params } from '../wire/form.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

function announce (ctx: Ctx, sub: Obj, before: Obj, request?: RequestInfo): void {
  ctx.emit('customer.subscription.updated', sub, { request, previous: previousAttributes(before, sub) })
  ctx.emit('customer.subscription.resumed', sub, { request })
}

/**
 * `POST /v1/subscriptions/:id/resume`: a paused subscription starts a new period now (billing_cycle_anchor
 * `now`, the default) and is invoiced for it; `unchanged` keeps the period when it has not ended yet.
 * With `resume_on_payment_success` it stays paused unless that invoice is paid.
 */
export function resumeSubscription (ctx: Ctx, sub: Obj, p: Params, request: RequestInfo): Obj {
  if (sub.status !== 'paused') throw badRequest(`Only paused subscriptions can be resumed; this one is ${sub.status}.`, undefined, 'subscription_resume_unavailable')
  const anchor = typeof p.billing_cycle_anchor === 'object' ? p.billing_cycle_anchor.type : p.billing_cycle_anchor ?? 'now'
  const now = ctx.now(sub)
  const before = structuredClone(sub)
  if (anchor === 'unchanged' && sub.items.data[0].current_period_end > now) {
    sub.status = 'active'
    announce(ctx, sub, before, request)
    return sub
  }
  const onSuccess = p.payment_behavior === 'resume_on_payment_success'
  const invoice = startNextPeriod(ctx, sub, now, (s) => {
    s.billing_cycle_anchor = now
    if (!onSuccess) s.status = 'active'
  }, request)
  if (!onSuccess) {
    ctx.emit('customer.subscription.resumed', sub, { request })
  } else if (invoice.status === 'paid') {
    const paused = structuredClone(sub)
    sub.status = 'active'
    announce(ctx, sub, paused, request)
  }
  return sub
}
