import type { Ctx } from '../context.js'
import type { RequestInfo } from '../events.js'
import type { Obj } from '../store.js'
import type { Params } from '../wire/form.js'
import type { Fields } from './params.js'

export interface ApiRequest {
  params: Record<string, string>
  /** Form body for POST, query string for GET/DELETE: Stripe accepts the same fields either way. */
  body: Params
  headers: Record<string, string | string[] | undefined>
  request: RequestInfo
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  /** The parameters the route takes (besides `expand`); anything else is refused as Stripe refuses it. */
  params?: Fields
  handler: (ctx: Ctx, req: ApiRequest) => Obj
}

export function matchRoute<R extends { method: string, path: string }> (routes: R[], method: string, path: string) {
  const parts = path.split('/').filter(Boolean)
  for (const route of routes) {
    if (route.method !== method) continue
    const pattern = route.path.split('/').filter(Boolean)
    if (pattern.length !== parts.length) continue
    const params: Record<string, string> = {}
    const ok = pattern.every((seg, i) => {
      if (seg.startsWith(':')) {
        params[seg.slice(1)] = decodeURIComponent(parts[i])
        return true
      }
      return seg === parts[i]
    })
    if (ok) return { route, params }
  }
  return undefined
}
