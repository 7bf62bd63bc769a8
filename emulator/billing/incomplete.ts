import { paymentIntentOf, voidInvoice } from './invoices.js'
import { updateAndEmit } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

/** A subscription whose first payment has not succeeded within 23 hours expires. */
export const INCOMPLETE_SECONDS = 23 * 3600

/** A first payment still `processing` (a bank debit) keeps the subscription from expiring. */
export function incompleteCanExpire (ctx: Ctx, sub: Obj): boolean {
  if (sub.status !== 'incomplete') return false
  const invoice = sub.latest_invoice ? ctx.store.get('invoices', sub.latest_invoice) : undefined
  return !invoice || paymentIntentOf(ctx, invoice)?.status !== 'processing'
}

/** The first invoice is voided and the subscription ends as `incomplete_expired` (sent as `customer.subscription.updated`). */
export function expireIncomplete (ctx: Ctx, sub: Obj): void {
  const invoice = sub.latest_invoice ? ctx.store.get('invoices', sub.latest_invoice) : undefined
  if (invoice?.status === 'open') voidInvoice(ctx, invoice)
  const now = ctx.now(sub)
  updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => {
    s.status = 'incomplete_expired'
    s.ended_at = now
    s.canceled_at = now
  })
}
