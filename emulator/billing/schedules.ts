import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { previousAttributes, updateAndEmit, type RequestInfo } from '../events.js'
import { startSubscription } from './start-subscription.js'
import { updateSubscription } from './update-subscription.js'
import { endSubscription } from './subscription-status.js'
import { endAndBill } from './renewal.js'
import { currentPhase, lastEnd, nextPhase } from './schedule-phases.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

const DAY = 86_400
/** Stripe sends `subscription_schedule.expiring` 7 days before a schedule ends. */
const EXPIRING_NOTICE = 7 * DAY

export const subscriptionOf = (ctx: Ctx, schedule: Obj): Obj | undefined =>
  schedule.subscription ? ctx.store.get('subscriptions', schedule.subscription) : undefined

const priceOf = (ctx: Ctx) => (id: string) => ctx.store.get('prices', id)!

export function newSchedule (ctx: Ctx, customer: Obj, fields: Obj): Obj {
  const now = ctx.now(customer)
  return fromTemplate(ctx.templates, 'subscriptionSchedule', {
    created: now,
    current_phase: null,
    customer: customer.id,
    id: newId('sub_sched'),
    status: 'not_started',
    subscription: null,
    test_clock: customer.test_clock ?? null,
    ...fields
  })
}

/** A schedule's `current_phase`: the running phase's start and end. */
export const phaseWindow = (phase: Obj | null) => (phase ? { end_date: phase.end_date, start_date: phase.start_date } : null)

/**
 * The schedule's first phase starts: its subscription is created with the phase's items, `active`
 * from the start (a failed first payment makes it past_due and is retried, as a renewal's).
 */
export function startScheduled (ctx: Ctx, schedule: Obj, request?: RequestInfo): Obj {
  const customer = ctx.store.get('customers', schedule.customer)!
  const phase = schedule.phases[0]
  const settings = schedule.default_settings
  const pm = settings.default_payment_method ? ctx.store.get('payment_methods', settings.default_payment_method) ?? null : null
  const sub = startSubscription(ctx, {
    customer,
    lines: phase.items.map((it: Obj) => ({ price: priceOf(ctx)(it.price), quantity: it.quantity ?? 1, metadata: it.metadata })),
    metadata: { ...phase.metadata },
    paymentBehavior: 'allow_incomplete',
    paymentMethod: pm,
    trialEnd: phase.trial_end,
    fields: { collection_method: settings.collection_method ?? 'charge_automatically', description: phase.description ?? settings.description, schedule: schedule.id },
    fromSchedule: true,
    request
  })
  Object.assign(schedule, { status: 'active', subscription: sub.id, current_phase: phaseWindow(phase) })
  return sub
}

/**
 * The subscription takes a phase's items: the same item ids where it can (a price change keeps the
 * item, as Stripe does), prorated as the phase says unless the switch falls on the period's end.
 */
export function applyPhase (ctx: Ctx, sub: Obj, phase: Obj, request?: RequestInfo): void {
  const now = ctx.now(sub)
  const onBoundary = now >= sub.items.data[0].current_period_end
  const current: Obj[] = sub.items.data
  const items = phase.items.map((it: Obj, k: number) => ({ ...(current[k] && { id: current[k]!.id }), price: it.price, quantity: it.quantity, metadata: it.metadata }))
  for (const extra of current.slice(phase.items.length)) items.push({ id: extra.id, deleted: true })
  updateSubscription(ctx, sub, { items, metadata: phase.metadata, proration_behavior: onBoundary ? 'none' : phase.proration_behavior }, request ?? { id: null, idempotency_key: null }, priceOf(ctx))
}

/**
 * The schedule stops managing its subscription. A subscription that goes on (released, or completed
 * with `end_behavior=release`) says so with `customer.subscription.updated`; one about to end does not.
 */
function finish (ctx: Ctx, schedule: Obj, status: string, event: string, sub: Obj | undefined, request?: RequestInfo, subscriptionGoesOn = true): void {
  const now = ctx.now(schedule)
  const stamp: Record<string, string> = { completed: 'completed_at', canceled: 'canceled_at', released: 'released_at' }
  Object.assign(schedule, { status, current_phase: null, [stamp[status]!]: now })
  if (status === 'released') Object.assign(schedule, { released_subscription: schedule.subscription, subscription: null })
  if (sub && sub.schedule === schedule.id) {
    if (subscriptionGoesOn) updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => { s.schedule = null }, request)
    else sub.schedule = null
  }
  ctx.emit(event, schedule, { request })
}

/**
 * The current phase ends: the next phase starts (the subscription takes its items), or the schedule
 * completes and `end_behavior` applies: `release` leaves the subscription running as it is, `cancel`
 * ends it now. Returns the subscription, whose due work (its renewal at this moment) has changed.
 */
export function endPhase (ctx: Ctx, schedule: Obj): Obj[] {
  const sub = subscriptionOf(ctx, schedule)
  const phase = schedule.phases.find((p: Obj) => p.end_date === schedule.current_phase?.end_date)
  const next = phase && nextPhase(schedule, phase)
  if (next && sub) {
    applyPhase(ctx, sub, next)
    const before = structuredClone(schedule)
    schedule.current_phase = phaseWindow(next)
    ctx.emit('subscription_schedule.updated', schedule, { previous: previousAttributes(before, schedule) })
    return [sub]
  }
  if (schedule.end_behavior === 'cancel' && sub && !['canceled', 'incomplete_expired'].includes(sub.status)) {
    // The schedule completes first, so ending the subscription does not cancel it a second time.
    finish(ctx, schedule, 'completed', 'subscription_schedule.completed', sub, undefined, false)
    endAndBill(ctx, sub, 'cancellation_requested')
    return [sub]
  }
  finish(ctx, schedule, 'completed', 'subscription_schedule.completed', sub)
  return sub ? [sub] : []
}

export function releaseSchedule (ctx: Ctx, schedule: Obj, request?: RequestInfo): Obj {
  finish(ctx, schedule, 'released', 'subscription_schedule.released', subscriptionOf(ctx, schedule), request)
  return schedule
}

/** Canceling a schedule cancels its subscription now, as Stripe does; `invoiceNow` (the default) bills its outstanding usage. */
export function cancelSchedule (ctx: Ctx, schedule: Obj, invoiceNow: boolean, request?: RequestInfo): Obj {
  const sub = subscriptionOf(ctx, schedule)
  const live = sub && !['canceled', 'incomplete_expired'].includes(sub.status) ? sub : undefined
  finish(ctx, schedule, 'canceled', 'subscription_schedule.canceled', sub, request, false)
  if (live && invoiceNow) endAndBill(ctx, live, 'cancellation_requested', request)
  else if (live) endSubscription(ctx, live, 'cancellation_requested', request)
  return schedule
}

/**
 * A subscription on a schedule ended by other means: the schedule is canceled with it
 * (`subscription_schedule.aborted` when unpaid invoices ended it, else `.canceled`).
 */
export function subscriptionEnded (ctx: Ctx, sub: Obj, reason: string | null, request?: RequestInfo): void {
  const schedule = ctx.store.get('subscription_schedules', sub.schedule ?? '')
  if (!schedule || !['active', 'not_started'].includes(schedule.status)) return
  const aborted = reason === 'payment_failed'
  finish(ctx, schedule, 'canceled', aborted ? 'subscription_schedule.aborted' : 'subscription_schedule.canceled', sub, request, false)
}

/** `subscription_schedule.expiring` is due 7 days before the schedule's end (at once when it is sooner). */
export function expiringNoticeDue (ctx: Ctx, schedule: Obj): number | undefined {
  if (!['active', 'not_started'].includes(schedule.status)) return undefined
  const end = lastEnd(schedule)
  if (ctx.store.internal(schedule.id).expiringFor === end) return undefined
  return Math.max(end - EXPIRING_NOTICE, schedule.created)
}

export function sendExpiringNotice (ctx: Ctx, schedule: Obj): void {
  ctx.store.internal(schedule.id).expiringFor = lastEnd(schedule)
  ctx.emit('subscription_schedule.expiring', schedule)
}

export { currentPhase }
