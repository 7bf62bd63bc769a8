import { attemptPayment, createInvoice, finalizeInvoice } from './invoices.js'
import { periodEnd } from './build.js'
import { updateAndEmit, type RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export function renew (ctx: Ctx, sub: Obj): void {
  const oldStart = sub.items.data[0].current_period_start
  const oldEnd = sub.items.data[0].current_period_end
  updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => {
    for (const item of s.items.data) {
      item.current_period_start = item.current_period_end
      item.current_period_end = periodEnd(item.price, item.current_period_start)
    }
    const invoice = createInvoice(ctx, { sub: s, billingReason: 'subscription_cycle', periodStart: oldStart, periodEnd: oldEnd, withItems: true })
    s.latest_invoice = invoice.id
    ctx.emit('invoice.created', invoice)
  })
  const invoice = ctx.store.get('invoices', sub.latest_invoice)!
  finalizeInvoice(ctx, invoice)
  settle(ctx, sub, invoice)
}

export function settle (ctx: Ctx, sub: Obj, invoice: Obj): void {
  const paid = attemptPayment(ctx, invoice)
  if (paid && sub.status === 'past_due') {
    updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => (s.status = 'active'))
  } else if (!paid && invoice.next_payment_attempt === null) {
    endSubscription(ctx, sub, 'payment_failed')
  } else if (!paid && sub.status !== 'past_due') {
    updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => (s.status = 'past_due'))
  }
}

export function endSubscription (ctx: Ctx, sub: Obj, reason: string, request?: RequestInfo): void {
  const now = ctx.now(sub)
  sub.status = 'canceled'
  sub.ended_at = now
  sub.canceled_at = sub.canceled_at ?? now
  sub.cancellation_details = { ...sub.cancellation_details, reason: sub.cancellation_details.reason ?? reason }
  ctx.emit('customer.subscription.deleted', sub, { request })
}
