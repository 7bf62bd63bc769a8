import createClient, { type Client } from 'openapi-fetch'
import type { components, paths } from './schema.js'

export type { paths, components }

/** Every route of Tollgate's API, typed from its OpenAPI document: `tollgate.api.GET('/api/v1/plans')`. */
export type TollgateApi = Client<paths>

export interface ApiOptions {
  /** Where Tollgate listens, e.g. `http://tollgate:3000`. */
  baseUrl: string
  /** One of Tollgate's `API_KEYS` (or, for the `/admin` routes, its `ADMIN_TOKEN`). */
  apiKey: string
  /**
   * Milliseconds one request may take, connection included, before it is abandoned. Short by default:
   * the product asks on its own request's hot path, and a hung Tollgate must not hang it.
   */
  timeoutMs?: number
  /** A fetch of your own (a proxy agent, instrumentation); the global one by default. */
  fetch?: typeof globalThis.fetch
}

export const DEFAULT_TIMEOUT_MS = 2000

/** A typed client for every route; requests carry the key and end after `timeoutMs`. */
export function createApi ({ baseUrl, apiKey, timeoutMs = DEFAULT_TIMEOUT_MS, fetch = globalThis.fetch }: ApiOptions): TollgateApi {
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${apiKey}` },
    fetch: (request: Request) => fetch(new Request(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) }))
  })
}
