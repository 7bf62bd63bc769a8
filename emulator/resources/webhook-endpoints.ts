import { newId, randomToken } from '../ids.js'
import { missing, paramMissing } from '../wire/errors.js'
import { mergeMetadata, nullable, toList } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { requireSupportedVersion } from '../versions/names.js'
import { LIST_PARAMS, P } from '../http/params.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

function getEndpoint (ctx: Ctx, id: string): Obj {
  const endpoint = ctx.store.get('webhook_endpoints', id)
  if (!endpoint) throw missing('webhook_endpoint', id)
  return endpoint
}

// Stripe returns `secret` only on create; later reads omit it.
const withoutSecret = ({ secret: _secret, ...rest }: Obj) => rest

export const webhookEndpointRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/webhook_endpoints',
    params: { url: P.str, enabled_events: P.arr(P.str), api_version: P.str, description: P.str, metadata: P.map, connect: P.bool },
    handler: (ctx, req) => {
      const p = req.body
      if (!p.url) throw paramMissing('url')
      const events = toList(p.enabled_events)
      if (events.length === 0) throw paramMissing('enabled_events')
      return ctx.store.put('webhook_endpoints', {
        id: newId('we'),
        object: 'webhook_endpoint',
        // Its events are rendered in this version; unset, in the account's default.
        api_version: p.api_version ? requireSupportedVersion(String(p.api_version), 'api_version') : null,
        application: null,
        created: ctx.now(),
        description: nullable(p.description) ?? null,
        enabled_events: events,
        livemode: false,
        metadata: mergeMetadata({}, p.metadata),
        secret: `whsec_${randomToken(32)}`,
        status: 'enabled',
        url: String(p.url)
      })
    }
  },
  { method: 'GET', path: '/v1/webhook_endpoints/:id', params: {}, handler: (ctx, req) => withoutSecret(getEndpoint(ctx, req.params.id)) },
  {
    method: 'POST',
    path: '/v1/webhook_endpoints/:id',
    params: { url: P.str, enabled_events: P.arr(P.str), description: P.str, disabled: P.bool, metadata: P.map },
    handler: (ctx, req) => {
      const endpoint = getEndpoint(ctx, req.params.id)
      const p = req.body
      if (p.url) endpoint.url = String(p.url)
      if (p.enabled_events !== undefined) endpoint.enabled_events = toList(p.enabled_events)
      if (p.disabled !== undefined) endpoint.status = p.disabled === 'true' ? 'disabled' : 'enabled'
      endpoint.metadata = mergeMetadata(endpoint.metadata, p.metadata)
      return withoutSecret(endpoint)
    }
  },
  {
    method: 'DELETE',
    path: '/v1/webhook_endpoints/:id',
    params: {},
    handler: (ctx, req) => {
      getEndpoint(ctx, req.params.id)
      ctx.store.delete('webhook_endpoints', req.params.id)
      return { id: req.params.id, object: 'webhook_endpoint', deleted: true }
    }
  },
  {
    method: 'GET',
    path: '/v1/webhook_endpoints',
    params: LIST_PARAMS,
    handler: (ctx, req) =>
      listEnvelope(ctx.store.newestFirst('webhook_endpoints').map(withoutSecret), req.body, '/v1/webhook_endpoints', 'webhook_endpoint')
  }
]
