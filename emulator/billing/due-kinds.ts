import { endAndBill, renew } from './renewal.js'
import { endTrial, sendTrialNotice, trialNoticeDue } from './trials.js'
import { expireIncomplete, INCOMPLETE_SECONDS, incompleteCanExpire } from './incomplete.js'
import { payInvoice } from './invoice-payments.js'
import { expireSession } from './checkout-async.js'
import { endDiscounts, nextDiscountEnd } from './discounts.js'
import { endPhase, expiringNoticeDue, sendExpiringNotice, startScheduled } from './schedules.js'
import { updateAndEmit } from '../events.js'
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

const RENEWING = new Set(['active', 'past_due', 'unpaid'])
const ENDED = new Set(['canceled', 'incomplete_expired'])
const RETRYING = new Set(['active', 'past_due', 'trialing'])

function openRetryInvoice (ctx: Ctx, sub: Obj): Obj | undefined {
  return ctx.store.ofSubscription('invoices', sub.id).find((inv) => inv.status === 'open' && inv.next_payment_attempt !== null)
}

/**
 * Everything time makes happen, in the order it runs when moments coincide for one object. A new
 * kind of timed work (a subscription schedule's phase boundary, a meter's billing) is one more entry.
 */
export const DUE_KINDS: DueKind[] = [
  // Schedules come first: their collection is walked first, so at one moment a phase switch runs
  // before the renewal of its subscription, which then bills the new phase's prices.
  {
    name: 'schedule_start',
    collection: 'subscription_schedules',
    due: (ctx, schedule) => (schedule.status === 'not_started' ? { at: schedule.phases[0].start_date, run: () => [startScheduled(ctx, schedule)] } : undefined)
  },
  {
    name: 'schedule_expiring',
    collection: 'subscription_schedules',
    due: (ctx, schedule) => {
      const at = expiringNoticeDue(ctx, schedule)
      return at === undefined ? undefined : { at, run: () => sendExpiringNotice(ctx, schedule) }
    }
  },
  {
    name: 'schedule_phase_end',
    collection: 'subscription_schedules',
    due: (ctx, schedule) => (schedule.status === 'active' && schedule.current_phase ? { at: schedule.current_phase.end_date, run: () => endPhase(ctx, schedule) } : undefined)
  },
  {
    name: 'incomplete_expiry',
    collection: 'subscriptions',
    due: (ctx, sub) => incompleteCanExpire(ctx, sub) ? { at: sub.created + INCOMPLETE_SECONDS, run: () => expireIncomplete(ctx, sub) } : undefined
  },
  {
    name: 'trial_will_end',
    collection: 'subscriptions',
    due: (ctx, sub) => {
      const at = trialNoticeDue(ctx, sub)
      return at === undefined ? undefined : { at, run: () => sendTrialNotice(ctx, sub) }
    }
  },
  {
    name: 'trial_end',
    collection: 'subscriptions',
    due: (ctx, sub) => (sub.status === 'trialing' ? { at: sub.trial_end, run: () => endTrial(ctx, sub) } : undefined)
  },
  {
    name: 'cancel_at',
    collection: 'subscriptions',
    due: (ctx, sub) => sub.cancel_at && !sub.cancel_at_period_end && (RENEWING.has(sub.status) || sub.status === 'trialing')
      ? { at: sub.cancel_at, run: () => endAndBill(ctx, sub, 'cancellation_requested') }
      : undefined
  },
  {
    // Before the renewal of the same moment: a repeating coupon's last month is over when the next period starts.
    name: 'subscription_discount_end',
    collection: 'subscriptions',
    due: (ctx, sub) => {
      const at = sub.discounts.length > 0 && !ENDED.has(sub.status) ? nextDiscountEnd(ctx, sub) : undefined
      return at === undefined ? undefined : { at, run: () => endDiscounts(ctx, sub, at) }
    }
  },
  {
    name: 'period_end',
    collection: 'subscriptions',
    due: (ctx, sub) => RENEWING.has(sub.status)
      ? {
          at: sub.items.data[0].current_period_end,
          run: () => (sub.cancel_at_period_end ? endAndBill(ctx, sub, 'cancellation_requested') : renew(ctx, sub))
        }
      : undefined
  },
  {
    name: 'payment_retry',
    collection: 'subscriptions',
    due: (ctx, sub) => {
      if (!RETRYING.has(sub.status)) return undefined
      const retry = openRetryInvoice(ctx, sub)
      return retry && { at: retry.next_payment_attempt, run: () => { payInvoice(ctx, retry) } }
    }
  },
  {
    name: 'collection_resumes',
    collection: 'subscriptions',
    due: (ctx, sub) => sub.pause_collection?.resumes_at
      ? { at: sub.pause_collection.resumes_at, run: () => { updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => { s.pause_collection = null }) } }
      : undefined
  },
  {
    name: 'customer_discount_end',
    collection: 'customers',
    due: (ctx, customer) => {
      const at = customer.discount?.end ?? undefined
      return at === undefined || at === null ? undefined : { at, run: () => endDiscounts(ctx, customer, at) }
    }
  },
  {
    name: 'checkout_expiry',
    collection: 'checkout_sessions',
    due: (ctx, session) => (session.status === 'open' ? { at: session.expires_at, run: () => { expireSession(ctx, session) } } : undefined)
  }
]
