import { randomToken } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { ApiError, badRequest, paramMissing } from '../wire/errors.js'
import { toInt, type Params } from '../wire/form.js'
import type { Ctx } from '../context.js'
import type { MeterEventRecord, Obj } from '../store.js'

const DAY = 86_400
/** Stripe takes events up to 35 days old and up to 5 minutes ahead (clock drift). */
const PAST_WINDOW = 35 * DAY
const FUTURE_WINDOW = 5 * 60
/** An adjustment can cancel an event for 24 hours after it arrived. */
const CANCEL_WINDOW = DAY

const usageKey = (eventName: string, customer: string) => `${eventName}\u0000${customer}`

/** The meter events of one name count toward: the active meter with that event_name (else an inactive one). */
export function meterFor (ctx: Ctx, eventName: string): Obj | undefined {
  let inactive: Obj | undefined
  for (const meter of ctx.store.collections.billing_meters.values()) {
    if (meter.event_name !== eventName) continue
    if (meter.status === 'active') return meter
    inactive = meter
  }
  return inactive
}

/**
 * What Stripe reports asynchronously (the v1.billing.meter.error_report_triggered / no_meter_found thin
 * events, not emulated): the event is accepted and counted nowhere. Readable at GET /_emulator/billing/meter_errors.
 */
function reportError (ctx: Ctx, code: string, message: string, event: Obj): void {
  ctx.store.meterErrors.push({ code, message, identifier: event.identifier, event_name: event.event_name, payload: event.payload })
}

function problemOf (ctx: Ctx, meter: Obj | undefined, payload: Params): { code: string, message: string } | undefined {
  if (!meter) return { code: 'no_meter', message: 'No active meter has this event_name.' }
  if (meter.status !== 'active') return { code: 'archived_meter', message: `The meter ${meter.id} is inactive.` }
  const customerKey = meter.customer_mapping.event_payload_key
  const customer = payload[customerKey]
  if (!customer) return { code: 'meter_event_no_customer_defined', message: `The payload has no \`${customerKey}\`.` }
  if (!ctx.store.get('customers', String(customer))) return { code: 'meter_event_customer_not_found', message: `No such customer: '${String(customer)}'.` }
  const raw = payload[meter.value_settings.event_payload_key]
  if (meter.default_aggregation.formula !== 'count' && !/^-?\d+$/.test(String(raw ?? ''))) {
    return { code: 'meter_event_invalid_value', message: `The payload's \`${meter.value_settings.event_payload_key}\` must be a whole number.` }
  }
  return undefined
}

/**
 * `POST /v1/billing/meter_events`. An `identifier` is taken once, ever (Stripe promises at least 24
 * hours): a second event with it is refused, so a retry never counts twice. The timestamp must lie
 * within the last 35 days and at most 5 minutes ahead, in the customer's time (its test clock's).
 */
export function recordMeterEvent (ctx: Ctx, p: Params): Obj {
  if (!p.event_name) throw paramMissing('event_name')
  if (!p.payload || typeof p.payload !== 'object') throw paramMissing('payload')
  const payload: Record<string, string> = Object.fromEntries(Object.entries(p.payload).map(([k, v]) => [k, String(v)]))
  const meter = meterFor(ctx, String(p.event_name))
  const customerId = payload[meter?.customer_mapping.event_payload_key ?? 'stripe_customer_id'] ?? null
  const now = ctx.now(customerId && ctx.store.get('customers', customerId) ? customerId : null)
  const timestamp = toInt(p.timestamp) ?? now
  if (timestamp < now - PAST_WINDOW || timestamp > now + FUTURE_WINDOW) {
    throw badRequest('The timestamp must be within the past 35 calendar days and no more than 5 minutes in the future.', 'timestamp')
  }
  const identifier = p.identifier ? String(p.identifier) : `evt_id_${randomToken(24)}`
  if (identifier.length > 100) throw badRequest('The identifier must be at most 100 characters long.', 'identifier')
  if (ctx.store.meterEvents.has(identifier)) {
    throw new ApiError(400, 'invalid_request_error', `An event already exists with identifier ${identifier}.`, undefined, 'identifier', { 'Stripe-Should-Retry': 'false' })
  }
  const event = fromTemplate(ctx.templates, 'meterEvent', { created: now, event_name: String(p.event_name), identifier, payload, timestamp })
  const problem = problemOf(ctx, meter, payload)
  const record: MeterEventRecord = {
    identifier, eventName: event.event_name, customer: customerId ?? '', value: Number(payload[meter?.value_settings.event_payload_key ?? 'value'] ?? 0), timestamp, created: now, canceled: Boolean(problem)
  }
  ctx.store.meterEvents.set(identifier, record)
  if (problem) {
    reportError(ctx, problem.code, problem.message, event)
    return event
  }
  const key = usageKey(record.eventName, record.customer)
  const list = ctx.store.meterUsage.get(key)
  if (list) list.push(record)
  else ctx.store.meterUsage.set(key, [record])
  return event
}

/** `POST /v1/billing/meter_event_adjustments` (`type=cancel`): the event no longer counts. */
export function cancelMeterEvent (ctx: Ctx, p: Params): Obj {
  if (!p.event_name) throw paramMissing('event_name')
  const identifier = p.cancel?.identifier
  if (!identifier) throw paramMissing('cancel[identifier]')
  const record = ctx.store.meterEvents.get(String(identifier))
  if (!record || record.eventName !== p.event_name) throw badRequest(`No meter event with identifier ${String(identifier)} and event_name ${String(p.event_name)}.`, 'cancel[identifier]', 'resource_missing')
  if (ctx.now(record.customer || null) > record.created + CANCEL_WINDOW) {
    throw badRequest('A meter event can only be canceled within 24 hours of when it was received.', 'cancel[identifier]')
  }
  record.canceled = true
  return fromTemplate(ctx.templates, 'meterEventAdjustment', { cancel: { identifier: record.identifier }, event_name: record.eventName, status: 'complete', type: 'cancel' })
}

/** The events a meter counts for a customer in [start, end), oldest first. */
export function meterEventsIn (ctx: Ctx, meter: Obj, customerId: string, start: number, end: number): MeterEventRecord[] {
  const events = ctx.store.meterUsage.get(usageKey(meter.event_name, customerId)) ?? []
  return events.filter((e) => !e.canceled && e.timestamp >= start && e.timestamp < end).sort((a, b) => a.timestamp - b.timestamp)
}

/** A meter's aggregate for a customer over [start, end): the sum, the count, or the last value reported. */
export function aggregate (ctx: Ctx, meter: Obj, customerId: string, start: number, end: number): number {
  const events = meterEventsIn(ctx, meter, customerId, start, end)
  switch (meter.default_aggregation.formula) {
    case 'count': return events.length
    case 'last': return events.at(-1)?.value ?? 0
    default: return events.reduce((sum, e) => sum + e.value, 0)
  }
}

const WINDOWS: Record<string, number> = { hour: 3600, day: DAY }

/** `GET /v1/billing/meters/:id/event_summaries`: one summary for the range, or one per hour or day of it. */
export function eventSummaries (ctx: Ctx, meter: Obj, q: Params): Obj[] {
  if (!q.customer) throw paramMissing('customer')
  const start = toInt(q.start_time)
  const end = toInt(q.end_time)
  if (start === undefined) throw paramMissing('start_time')
  if (end === undefined) throw paramMissing('end_time')
  const step = q.value_grouping_window ? WINDOWS[String(q.value_grouping_window)]! : 60
  for (const [param, at] of [['start_time', start], ['end_time', end]] as const) {
    if (at % step !== 0) throw badRequest(`\`${param}\` must be aligned with ${q.value_grouping_window ? `${String(q.value_grouping_window)} boundaries (UTC)` : 'minute boundaries'}.`, param)
  }
  if (end <= start) throw badRequest('`end_time` must be after `start_time`.', 'end_time')
  const windows: [number, number][] = []
  if (!q.value_grouping_window) windows.push([start, end])
  else for (let at = start; at < end; at += step) windows.push([at, at + step])
  return windows.map(([from, to]) => fromTemplate(ctx.templates, 'meterEventSummary', {
    aggregated_value: aggregate(ctx, meter, String(q.customer), from, to),
    end_time: to,
    // Stable per window, so cursor pagination finds the same summary again.
    id: `mtrusg_${meter.id.slice(-10)}${from.toString(36)}${to.toString(36)}`,
    meter: meter.id,
    start_time: from
  }))
}

/** What a metered subscription item bills for a period: its meter's aggregate for the customer, never below 0. */
export function meteredQuantity (ctx: Ctx, sub: Obj, item: Obj, period: { start: number, end: number }): number {
  const meter = ctx.store.get('billing_meters', item.price.recurring?.meter ?? '')
  return meter ? Math.max(0, aggregate(ctx, meter, sub.customer, period.start, period.end)) : 0
}
