import { newId } from './ids.js'
import { fromTemplate } from './templates.js'
import { endpointWants, type Endpoint } from './webhooks/delivery.js'
import type { Ctx } from './context.js'
import { renderTree } from './render.js'
import type { Obj } from './store.js'

export interface RequestInfo {
  id: string | null
  idempotency_key: string | null
}

export const NO_REQUEST: RequestInfo = { id: null, idempotency_key: null }

export function activeEndpoints (ctx: Ctx): Endpoint[] {
  const fromApi = [...ctx.store.collections.webhook_endpoints.values()]
    .filter((we) => we.status === 'enabled')
    .map((we) => ({ id: we.id, url: we.url, secrets: [we.secret], enabled_events: we.enabled_events, api_version: we.api_version }))
  return [...ctx.staticEndpoints, ...fromApi]
}

// The event carries a snapshot: later changes to the object must not leak into old events.
export function emitEvent (ctx: Ctx, type: string, object: Obj, request: RequestInfo = NO_REQUEST, previous?: Obj): Obj {
  const endpoints = activeEndpoints(ctx).filter((e) => endpointWants(e, type))
  const data: Obj = { object: renderTree(ctx, structuredClone(object)) }
  if (previous && Object.keys(previous).length > 0) data.previous_attributes = structuredClone(previous)
  // Stored in the latest version's shapes, stamped with the account's version of the moment:
  // GET /v1/events and endpoints without a version of their own render it in that one.
  const event = fromTemplate(ctx.templates, 'event', {
    api_version: ctx.apiVersion,
    id: newId('evt'),
    created: ctx.now(object),
    data,
    pending_webhooks: endpoints.length,
    request: { ...request },
    type
  })
  ctx.store.put('events', event)
  ctx.log('event', type, event.id)
  ctx.deliverer.dispatch(event, endpoints)
  ctx.stripeCli.publish(event)
  return event
}

// Stripe's previous_attributes holds the old value of every top-level field that changed.
export function previousAttributes (before: Obj, after: Obj): Obj {
  const previous: Obj = {}
  for (const key of Object.keys(after)) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) previous[key] = before[key]
  }
  return previous
}

// Runs a mutation and emits `<type>` with previous_attributes when something changed.
export function updateAndEmit (ctx: Ctx, type: string, object: Obj, mutate: (o: Obj) => void, request?: RequestInfo): Obj {
  const before = structuredClone(object)
  mutate(object)
  const previous = previousAttributes(before, object)
  if (Object.keys(previous).length > 0) ctx.emit(type, object, { request, previous })
  return object
}
