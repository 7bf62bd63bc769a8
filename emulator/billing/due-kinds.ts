import { endSubscription, renew, settle } from './renewal.js'
import type { Ctx } from '../context.js'
import type { Collection, Obj } from '../store.js'

export interface Due {
  at: number
  /** Does the work; returns other objects whose due work it changed, so the clock reschedules them. */
  run: () => Obj[] | void
}

export interface DueKind {
  name: string
  /** The objects this kind of work belongs to. */
  collection: Collection
  due: (ctx: Ctx, owner: Obj) => Due | undefined
}

const LIVE = new Set(['active', 'past_due', 'trialing'])

function openRetryInvoice (ctx: Ctx, sub: Obj): Obj | undefined {
  return ctx.store.ofSubscription('invoices', sub.id).find((inv) => inv.status === 'open' && inv.next_payment_attempt !== null)
}

/**
 * Everything time makes happen, in the order it runs when moments coincide for one object. A new
 * kind of timed work (a schedule's phase boundary, a meter's billing) is one more entry here.
 */
export const DUE_KINDS: DueKind[] = [
  {
    name: 'period_end',
    collection: 'subscriptions',
    due: (ctx, sub) => LIVE.has(sub.status)
      ? {
          at: sub.items.data[0].current_period_end,
          run: () => (sub.cancel_at_period_end ? endSubscription(ctx, sub, 'cancellation_requested') : renew(ctx, sub))
        }
      : undefined
  },
  {
    name: 'payment_retry',
    collection: 'subscriptions',
    due: (ctx, sub) => {
      if (!LIVE.has(sub.status)) return undefined
      const retry = openRetryInvoice(ctx, sub)
      return retry && { at: retry.next_payment_attempt, run: () => settle(ctx, sub, retry) }
    }
  }
]
