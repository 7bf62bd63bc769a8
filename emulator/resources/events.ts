import { missing } from '../wire/errors.js'
import { toList } from '../wire/form.js'
import { listEnvelope, matchesRange } from '../http/list.js'
import { renderEvent } from '../versions/render.js'
import { storeLookup } from '../versions/lookup.js'
import { LIST_PARAMS, P } from '../http/params.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

// `invoice.*` style wildcards are accepted by Stripe's `type` filter.
function typeMatches (pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type
}

export const eventRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v1/events/:id',
    params: {},
    handler: (ctx, req) => {
      const event = ctx.store.get('events', req.params.id)
      if (!event) throw missing('event', req.params.id)
      return renderEvent(event, event.api_version, storeLookup(ctx))
    }
  },
  {
    method: 'GET',
    path: '/v1/events',
    params: { ...LIST_PARAMS, type: P.str, types: P.arr(P.str), created: P.range, delivery_success: P.bool },
    handler: (ctx, req) => {
      const q = req.body
      const types = [...toList(q.types), ...(q.type ? [String(q.type)] : [])]
      const items = ctx.store.newestFirst('events').filter(
        (e) => (types.length === 0 || types.some((t) => typeMatches(t, e.type))) && matchesRange(e.created, q.created)
      )
      const page = listEnvelope(items, q, '/v1/events', 'event')
      const lookup = storeLookup(ctx)
      // Each event in the version it was created in, whatever Stripe-Version the request names.
      return { ...page, data: page.data.map((e: Obj) => renderEvent(e, e.api_version, lookup)) }
    }
  }
]
