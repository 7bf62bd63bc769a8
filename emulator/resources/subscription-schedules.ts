import { fromTemplate } from '../templates.js'
import { previousAttributes, updateAndEmit } from '../events.js'
import { applyPhase, cancelSchedule, currentPhase, newSchedule, phaseWindow, releaseSchedule, startScheduled, subscriptionOf } from '../billing/schedules.js'
import { buildPhases } from '../billing/schedule-phases.js'
import { attachedPaymentMethod } from '../billing/payment-methods.js'
import { PRORATION } from '../billing/update-subscription.js'
import { badRequest, missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toBool, toInt, type Params } from '../wire/form.js'
import { listEnvelope, matchesRange } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { getCustomer } from './customers.js'
import { getSubscription, recurringPrice } from './subscriptions.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { ApiRequest, Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function getSchedule (ctx: Ctx, id: string): Obj {
  const schedule = ctx.store.get('subscription_schedules', id)
  if (!schedule) throw missing('subscription_schedule', id)
  return schedule
}

const LIVE = ['not_started', 'active']

function settingsOf (ctx: Ctx, customer: Obj, current: Obj, p: Params | undefined): Obj {
  if (!p) return current
  const next = structuredClone(current)
  if (p.collection_method) next.collection_method = p.collection_method
  if (p.description !== undefined) next.description = nullable(p.description)
  if (p.default_payment_method !== undefined) {
    next.default_payment_method = p.default_payment_method === '' ? null : attachedPaymentMethod(ctx, String(p.default_payment_method), customer.id, 'default_settings[default_payment_method]').id
  }
  return next
}

/** `from_subscription`: the schedule takes over a running subscription, its current period as the one phase. */
function fromSubscription (ctx: Ctx, p: Params, request: RequestInfo): Obj {
  for (const param of ['customer', 'phases', 'start_date']) {
    if (p[param] !== undefined) throw badRequest(`You cannot set \`${param}\` if \`from_subscription\` is set.`, param)
  }
  const sub = getSubscription(ctx, String(p.from_subscription))
  if (sub.schedule) throw badRequest(`The subscription ${sub.id} is already attached to the schedule ${String(sub.schedule)}.`, 'from_subscription')
  if (['canceled', 'incomplete_expired', 'incomplete'].includes(sub.status)) throw badRequest(`A subscription that is ${sub.status} cannot be managed by a schedule.`, 'from_subscription')
  const customer = getCustomer(ctx, sub.customer)
  const { current_period_start: start, current_period_end: end } = sub.items.data[0]
  const phase = fromTemplate(ctx.templates, 'schedulePhase', {
    currency: sub.currency,
    discounts: (sub.discounts as string[]).map((id) => ({ coupon: null, discount: id, promotion_code: null })),
    end_date: end,
    items: sub.items.data.map((it: Obj) => {
      const item: Obj = { billing_thresholds: null, discounts: [], metadata: { ...it.metadata }, plan: it.price.id, price: it.price.id, quantity: it.quantity, tax_rates: [] }
      if (it.quantity === undefined) delete item.quantity
      return item
    }),
    metadata: { ...sub.metadata },
    start_date: start,
    trial_end: sub.status === 'trialing' ? sub.trial_end : null
  })
  const schedule = newSchedule(ctx, customer, {
    current_phase: phaseWindow(phase),
    end_behavior: p.end_behavior ?? 'release',
    metadata: mergeMetadata({}, p.metadata),
    phases: [phase],
    status: 'active',
    subscription: sub.id
  })
  schedule.default_settings = settingsOf(ctx, customer, schedule.default_settings, p.default_settings)
  ctx.store.put('subscription_schedules', schedule)
  updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => { s.schedule = schedule.id }, request)
  ctx.emit('subscription_schedule.created', schedule, { request })
  return schedule
}

function createSchedule (ctx: Ctx, req: ApiRequest): Obj {
  const p = req.body
  if (p.from_subscription) return fromSubscription(ctx, p, req.request)
  if (!p.customer) throw paramMissing('customer')
  const customer = getCustomer(ctx, String(p.customer), 'customer')
  const now = ctx.now(customer)
  const start = p.start_date === undefined || p.start_date === 'now' ? now : toInt(p.start_date)!
  if (start < now) throw badRequest('The emulator does not backdate schedules: `start_date` must be `now` or a future time.', 'start_date')
  const schedule = newSchedule(ctx, customer, {
    end_behavior: p.end_behavior ?? 'release',
    metadata: mergeMetadata({}, p.metadata),
    phases: buildPhases(ctx, p.phases, start, now, (id, param) => recurringPrice(ctx, id, param))
  })
  schedule.default_settings = settingsOf(ctx, customer, schedule.default_settings, p.default_settings)
  ctx.store.put('subscription_schedules', schedule)
  if (start <= now) startScheduled(ctx, schedule, req.request)
  ctx.emit('subscription_schedule.created', schedule, { request: req.request })
  return schedule
}

const differs = (sub: Obj, phase: Obj) => phase.items.length !== sub.items.data.length ||
  phase.items.some((it: Obj, k: number) => it.price !== sub.items.data[k].price.id || it.quantity !== sub.items.data[k].quantity)

/**
 * `phases` replaces the current and future phases (past ones stay); a change to the current phase
 * applies to the subscription now, prorated as `proration_behavior` says.
 */
function updateSchedule (ctx: Ctx, schedule: Obj, p: Params, request: RequestInfo): Obj {
  if (!LIVE.includes(schedule.status)) throw badRequest(`You cannot update a subscription schedule that is ${schedule.status}.`, undefined, 'subscription_schedule_invalid_status')
  const customer = getCustomer(ctx, schedule.customer)
  const now = ctx.now(schedule)
  const before = structuredClone(schedule)
  if (p.phases !== undefined) {
    const active = schedule.status === 'active'
    const named = p.phases?.[0]?.start_date
    const start = active ? currentPhase(schedule, now)!.start_date : named === 'now' ? now : toInt(named) ?? schedule.phases[0].start_date
    if (!active && start < now) throw badRequest('`start_date` must be `now` or a future time.', 'phases[0][start_date]')
    const phases = buildPhases(ctx, p.phases, start, now, (id, param) => recurringPrice(ctx, id, param))
    if (active && phases[0].end_date <= now) throw badRequest('The current phase must end in the future.', 'phases[0][end_date]')
    schedule.phases = [...schedule.phases.filter((ph: Obj) => ph.end_date <= start), ...phases]
  }
  if (p.end_behavior) schedule.end_behavior = p.end_behavior
  schedule.metadata = mergeMetadata(schedule.metadata, p.metadata)
  schedule.default_settings = settingsOf(ctx, customer, schedule.default_settings, p.default_settings)
  const sub = subscriptionOf(ctx, schedule)
  if (schedule.status === 'active' && sub) {
    const phase = currentPhase(schedule, now)!
    schedule.current_phase = phaseWindow(phase)
    if (differs(sub, phase)) applyPhase(ctx, sub, { ...phase, proration_behavior: p.proration_behavior ?? phase.proration_behavior }, request)
  } else if (schedule.status === 'not_started' && schedule.phases[0].start_date <= now) {
    startScheduled(ctx, schedule, request)
  }
  const previous = previousAttributes(before, schedule)
  if (Object.keys(previous).length > 0) ctx.emit('subscription_schedule.updated', schedule, { request, previous })
  return schedule
}

function requireLive (schedule: Obj, action: string): Obj {
  if (!LIVE.includes(schedule.status)) throw badRequest(`You cannot ${action} a subscription schedule that is ${schedule.status}.`, undefined, 'subscription_schedule_invalid_status')
  return schedule
}

const PHASE = P.obj({
  items: P.arr(P.obj({ price: P.str, quantity: P.int, metadata: P.map })),
  description: P.str,
  duration: P.obj({ interval: P.enum('day', 'week', 'month', 'year'), interval_count: P.int }),
  end_date: P.either(P.enum('now'), P.int),
  iterations: P.int,
  metadata: P.map,
  proration_behavior: P.enum(...PRORATION),
  start_date: P.either(P.enum('now'), P.int),
  trial_end: P.int
})
const SETTINGS = P.obj({ collection_method: P.enum('charge_automatically', 'send_invoice'), default_payment_method: P.str, description: P.str })
const END_BEHAVIOR = P.enum('cancel', 'none', 'release', 'renew')

export const subscriptionScheduleRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/subscription_schedules',
    params: { customer: P.str, from_subscription: P.str, start_date: P.either(P.enum('now'), P.int), end_behavior: END_BEHAVIOR, phases: P.arr(PHASE), metadata: P.map, default_settings: SETTINGS },
    handler: createSchedule
  },
  { method: 'GET', path: '/v1/subscription_schedules/:id', params: {}, handler: (ctx, req) => getSchedule(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/subscription_schedules/:id',
    params: { phases: P.arr(PHASE), end_behavior: END_BEHAVIOR, metadata: P.map, default_settings: SETTINGS, proration_behavior: P.enum(...PRORATION) },
    handler: (ctx, req) => updateSchedule(ctx, getSchedule(ctx, req.params.id), req.body, req.request)
  },
  {
    method: 'POST',
    path: '/v1/subscription_schedules/:id/release',
    params: { preserve_cancel_date: P.bool },
    handler: (ctx, req) => releaseSchedule(ctx, requireLive(getSchedule(ctx, req.params.id), 'release'), req.request)
  },
  {
    method: 'POST',
    path: '/v1/subscription_schedules/:id/cancel',
    params: { invoice_now: P.bool, prorate: P.bool },
    handler: (ctx, req) => cancelSchedule(ctx, requireLive(getSchedule(ctx, req.params.id), 'cancel'), toBool(req.body.invoice_now) ?? true, req.request)
  },
  {
    method: 'GET',
    path: '/v1/subscription_schedules',
    params: { ...LIST_PARAMS, customer: P.str, scheduled: P.bool, created: P.range, canceled_at: P.range, completed_at: P.range, released_at: P.range },
    handler: (ctx, req) => {
      const q = req.body
      const scheduled = toBool(q.scheduled)
      const stamp = (value: number | null, filter: unknown) => filter === undefined || (value !== null && matchesRange(value, filter))
      const items = ctx.store.newestFirst('subscription_schedules').filter(
        (s) => (!q.customer || s.customer === q.customer) && (scheduled === undefined || (s.status === 'not_started') === scheduled) &&
          matchesRange(s.created, q.created) && stamp(s.canceled_at, q.canceled_at) && stamp(s.completed_at, q.completed_at) && stamp(s.released_at, q.released_at)
      )
      return listEnvelope(items, q, '/v1/subscription_schedules', 'subscription_schedule')
    }
  }
]
