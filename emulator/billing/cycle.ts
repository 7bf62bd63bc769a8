import { attemptPayment, createInvoice, finalizeInvoice } from './invoices.js'
import { periodEnd } from './build.js'
import { DueQueue } from './due-queue.js'
import { updateAndEmit, type RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

type Kind = 'period_end' | 'retry'

interface DueWork {
  at: number
  kind: Kind
  run: () => void
}

interface Queued extends DueWork {
  sub: Obj
  // Creation order of the subscription: ties at one moment run subscription by subscription, a
  // period end before a retry.
  rank: number
  generation: number
}

const LIVE = new Set(['active', 'past_due', 'trialing'])

function openRetryInvoice (ctx: Ctx, sub: Obj): Obj | undefined {
  return ctx.store.ofSubscription('invoices', sub.id).find((inv) => inv.status === 'open' && inv.next_payment_attempt !== null)
}

function renew (ctx: Ctx, sub: Obj): void {
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

function settle (ctx: Ctx, sub: Obj, invoice: Obj): void {
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
  const now = ctx.clock.now()
  sub.status = 'canceled'
  sub.ended_at = now
  sub.canceled_at = sub.canceled_at ?? now
  sub.cancellation_details = { ...sub.cancellation_details, reason: sub.cancellation_details.reason ?? reason }
  ctx.emit('customer.subscription.deleted', sub, { request })
}

function dueWork (ctx: Ctx, sub: Obj): DueWork[] {
  if (!LIVE.has(sub.status)) return []
  const work: DueWork[] = [
    {
      at: sub.items.data[0].current_period_end,
      kind: 'period_end',
      run: () => (sub.cancel_at_period_end ? endSubscription(ctx, sub, 'cancellation_requested') : renew(ctx, sub))
    }
  ]
  const retry = openRetryInvoice(ctx, sub)
  if (retry) work.push({ at: retry.next_payment_attempt, kind: 'retry', run: () => settle(ctx, sub, retry) })
  return work
}

const runsFirst = (a: Queued, b: Queued): boolean =>
  a.at !== b.at ? a.at < b.at : a.rank !== b.rank ? a.rank < b.rank : a.kind === 'period_end' && b.kind === 'retry'

// Steps the clock to each due moment in order, so events carry the time they would have
// happened at and a renewal never overtakes an earlier retry. A subscription's due work changes
// only when its own work runs, so each step reschedules that one subscription; entries it had
// queued before are stale and skipped.
export function advanceClock (ctx: Ctx, seconds: number): number {
  const target = ctx.clock.now() + Math.max(0, Math.floor(seconds))
  const queue = new DueQueue<Queued>(runsFirst)
  const generations = new Map<Obj, number>()
  const schedule = (sub: Obj, rank: number, ran?: Queued): void => {
    const generation = (generations.get(sub) ?? 0) + 1
    generations.set(sub, generation)
    for (const work of dueWork(ctx, sub)) {
      if (!(work.at <= target)) continue // later, or not a moment at all (NaN)
      // A period that does not move forward (a price with interval_count 0) would renew forever.
      if (ran?.kind === 'period_end' && work.kind === 'period_end' && work.at <= ran.at) continue
      queue.push({ ...work, sub, rank, generation })
    }
  }
  let rank = 0
  for (const sub of ctx.store.collections.subscriptions.values()) schedule(sub, rank++)
  for (let next = queue.pop(); next; next = queue.pop()) {
    if (generations.get(next.sub) !== next.generation) continue
    ctx.clock.advanceTo(next.at)
    next.run()
    schedule(next.sub, next.rank, next)
  }
  ctx.clock.advanceTo(target)
  return ctx.clock.now()
}
