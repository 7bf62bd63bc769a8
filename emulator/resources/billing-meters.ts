import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { updateAndEmit } from '../events.js'
import { cancelMeterEvent, eventSummaries, recordMeterEvent } from '../billing/metering.js'
import { badRequest, missing, paramMissing } from '../wire/errors.js'
import { type Params } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

export function getMeter (ctx: Ctx, id: string, param = 'id'): Obj {
  const meter = ctx.store.get('billing_meters', id)
  if (!meter) throw missing('billing.meter', id, param)
  return meter
}

const activeWithName = (ctx: Ctx, eventName: string, self?: string) =>
  [...ctx.store.collections.billing_meters.values()].find((m) => m.status === 'active' && m.event_name === eventName && m.id !== self)

function createMeter (ctx: Ctx, p: Params, request: RequestInfo): Obj {
  for (const required of ['display_name', 'event_name']) if (!p[required]) throw paramMissing(required)
  if (!p.default_aggregation?.formula) throw paramMissing('default_aggregation[formula]')
  // Meter events name their meter by event_name, so one active meter has each.
  if (activeWithName(ctx, String(p.event_name))) throw badRequest(`An active meter with event_name \`${String(p.event_name)}\` already exists.`, 'event_name', 'resource_already_exists')
  const now = ctx.now()
  const meter = fromTemplate(ctx.templates, 'meter', {
    created: now,
    customer_mapping: { event_payload_key: String(p.customer_mapping?.event_payload_key ?? 'stripe_customer_id'), type: 'by_id' },
    default_aggregation: { formula: p.default_aggregation.formula },
    display_name: String(p.display_name),
    event_name: String(p.event_name),
    event_time_window: p.event_time_window ?? null,
    id: newId('mtr_test'),
    updated: now,
    value_settings: { event_payload_key: String(p.value_settings?.event_payload_key ?? 'value') }
  })
  ctx.store.put('billing_meters', meter)
  ctx.emit('billing.meter.created', meter, { request })
  return meter
}

function setStatus (ctx: Ctx, meter: Obj, active: boolean, request: RequestInfo): Obj {
  if ((meter.status === 'active') === active) throw badRequest(`The meter ${meter.id} is already ${meter.status}.`, undefined, 'billing_meter_invalid_status')
  if (active && activeWithName(ctx, meter.event_name, meter.id)) throw badRequest(`An active meter with event_name \`${meter.event_name}\` already exists.`, 'event_name', 'resource_already_exists')
  return updateAndEmit(ctx, active ? 'billing.meter.reactivated' : 'billing.meter.deactivated', meter, (m) => {
    m.status = active ? 'active' : 'inactive'
    m.status_transitions = { deactivated_at: active ? null : ctx.now() }
    m.updated = ctx.now()
  }, request)
}

export const billingMeterRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/billing/meters',
    params: {
      display_name: P.str,
      event_name: P.str,
      default_aggregation: P.obj({ formula: P.enum('count', 'last', 'sum') }),
      customer_mapping: P.obj({ event_payload_key: P.str, type: P.enum('by_id') }),
      event_time_window: P.enum('day', 'hour'),
      value_settings: P.obj({ event_payload_key: P.str })
    },
    handler: (ctx, req) => createMeter(ctx, req.body, req.request)
  },
  { method: 'GET', path: '/v1/billing/meters/:id', params: {}, handler: (ctx, req) => getMeter(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/billing/meters/:id',
    params: { display_name: P.str },
    handler: (ctx, req) => updateAndEmit(ctx, 'billing.meter.updated', getMeter(ctx, req.params.id), (m) => {
      if (req.body.display_name) m.display_name = String(req.body.display_name)
      m.updated = ctx.now()
    }, req.request)
  },
  { method: 'POST', path: '/v1/billing/meters/:id/deactivate', params: {}, handler: (ctx, req) => setStatus(ctx, getMeter(ctx, req.params.id), false, req.request) },
  { method: 'POST', path: '/v1/billing/meters/:id/reactivate', params: {}, handler: (ctx, req) => setStatus(ctx, getMeter(ctx, req.params.id), true, req.request) },
  {
    method: 'GET',
    path: '/v1/billing/meters',
    params: { ...LIST_PARAMS, status: P.enum('active', 'inactive') },
    handler: (ctx, req) => listEnvelope(ctx.store.newestFirst('billing_meters').filter((m) => !req.body.status || m.status === req.body.status), req.body, '/v1/billing/meters', 'billing.meter')
  },
  {
    method: 'GET',
    path: '/v1/billing/meters/:id/event_summaries',
    params: { ...LIST_PARAMS, customer: P.str, start_time: P.int, end_time: P.int, value_grouping_window: P.enum('day', 'hour') },
    handler: (ctx, req) => {
      const meter = getMeter(ctx, req.params.id)
      return listEnvelope(eventSummaries(ctx, meter, req.body), req.body, `/v1/billing/meters/${meter.id}/event_summaries`, 'billing.meter_event_summary')
    }
  },
  {
    method: 'POST',
    path: '/v1/billing/meter_events',
    params: { event_name: P.str, identifier: P.str, payload: P.map, timestamp: P.int },
    handler: (ctx, req) => recordMeterEvent(ctx, req.body)
  },
  {
    method: 'POST',
    path: '/v1/billing/meter_event_adjustments',
    params: { event_name: P.str, type: P.enum('cancel'), cancel: P.obj({ identifier: P.str }) },
    handler: (ctx, req) => cancelMeterEvent(ctx, req.body)
  }
]
