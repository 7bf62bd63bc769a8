import { createApi, type ApiOptions, type paths, type TollgateApi } from './client.js'

/** What Tollgate says a user may use (GET /api/v1/entitlements/:user_id). */
export type Entitlement = paths['/api/v1/entitlements/{user_id}']['get']['responses'][200]['content']['application/json']

/** Tollgate's answer to a usage count (POST /api/v1/usage/consume). */
export type UsageAnswer = paths['/api/v1/usage/consume']['post']['responses'][200]['content']['application/json']

export type UsageVerdict =
  | { allowed: boolean, reason: 'ok' | NonNullable<UsageAnswer['reason']>, usage: UsageAnswer }
  | { allowed: boolean, reason: 'tollgate_unavailable', error: Error }

/**
 * What a product does when Tollgate cannot answer (down, too slow, a 5xx):
 * - `closed` (the default): refuse the request with 503. Nobody gets what they have not paid for,
 *   and paying users are refused while Tollgate is out.
 * - `open`: let the request through. Paying users keep working while Tollgate is out, and so does
 *   anyone else for as long as it lasts. Right for products where a short outage costs more than
 *   some free use.
 * A decision Tollgate did make (no access, a feature not in the plan) is never overridden.
 */
export type FailureMode = 'open' | 'closed'

export type Verdict =
  | { allowed: true, reason: 'ok', entitlement: Entitlement }
  | { allowed: false, reason: 'no_access' | 'feature_not_in_plan', entitlement: Entitlement }
  | { allowed: boolean, reason: 'tollgate_unavailable', error: Error }

export interface TollgateOptions extends ApiOptions {
  /**
   * How long an entitlement is reused without asking Tollgate again. Short by default: a user who
   * just paid or cancelled waits at most this long, unless `invalidate(userId)` is called.
   * 0 turns the cache off.
   */
  cacheTtlMs?: number
  /** Entitlements kept at most; the oldest go first. */
  cacheSize?: number
  onUnavailable?: FailureMode
  /** Told of every failure to reach Tollgate (to log or count it); never of a denial. */
  onError?: (error: Error) => void
}

export interface Tollgate {
  /** The typed client for every route. */
  api: TollgateApi
  /** The user's entitlement, from the cache while it is fresh; throws TollgateUnavailableError. */
  entitlement: (userId: string) => Promise<Entitlement>
  /** Whether the user has access (and, when named, the feature), with the failure mode applied. */
  check: (userId: string, feature?: string) => Promise<Verdict>
  /**
   * Counts `quantity` (1) units of a metered limit for the user, atomically checked against the plan:
   * `allowed: false` counted nothing. Retrying with the same `idempotencyKey` counts once. When
   * Tollgate cannot answer, the failure mode decides and nothing was counted (or, on a timeout, may
   * have been: retry with the key).
   */
  consume: (userId: string, metric: string, options?: { quantity?: number, idempotencyKey?: string }) => Promise<UsageVerdict>
  /** Forgets a user's cached entitlement: call it when you learn their billing changed. */
  invalidate: (userId: string) => void
  readonly onUnavailable: FailureMode
}

export class TollgateUnavailableError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'TollgateUnavailableError'
  }
}

export function createTollgate (options: TollgateOptions): Tollgate {
  const { cacheTtlMs = 5000, cacheSize = 10_000, onUnavailable = 'closed', onError = () => {} } = options
  const api = createApi(options)
  const cache = new Map<string, { value: Entitlement, expires: number }>()
  // Concurrent requests of one user share one call; invalidate() drops it, so that an answer read
  // before the invalidation is neither shared nor cached.
  const inFlight = new Map<string, Promise<Entitlement>>()

  async function load (userId: string): Promise<Entitlement> {
    let answer
    try {
      answer = await api.GET('/api/v1/entitlements/{user_id}', { params: { path: { user_id: userId } } })
    } catch (err) {
      throw new TollgateUnavailableError(`Tollgate did not answer: ${(err as Error).message}`, { cause: err })
    }
    if (!answer.data) {
      const { status } = answer.response
      // 4xx is our mistake (a bad key, a malformed id) and would not heal by retrying: say so loudly.
      if (status < 500 && status !== 429) throw new Error(`Tollgate refused the entitlement read (${status}): ${JSON.stringify(answer.error)}`)
      throw new TollgateUnavailableError(`Tollgate answered ${status}`)
    }
    return answer.data as Entitlement
  }

  async function entitlement (userId: string): Promise<Entitlement> {
    const hit = cache.get(userId)
    if (hit && hit.expires > Date.now()) return hit.value
    const pending = inFlight.get(userId)
    if (pending) return await pending
    const call: Promise<Entitlement> = load(userId).then(value => {
      if (cacheTtlMs > 0 && inFlight.get(userId) === call) {
        cache.delete(userId)
        cache.set(userId, { value, expires: Date.now() + cacheTtlMs })
        if (cache.size > cacheSize) cache.delete(cache.keys().next().value!)
      }
      return value
    }).finally(() => { if (inFlight.get(userId) === call) inFlight.delete(userId) })
    inFlight.set(userId, call)
    return await call
  }

  async function check (userId: string, feature?: string): Promise<Verdict> {
    let e: Entitlement
    try {
      e = await entitlement(userId)
    } catch (err) {
      if (!(err instanceof TollgateUnavailableError)) throw err
      onError(err)
      return { allowed: onUnavailable === 'open', reason: 'tollgate_unavailable', error: err }
    }
    if (!e.access) return { allowed: false, reason: 'no_access', entitlement: e }
    if (feature !== undefined && e.features[feature] !== true) return { allowed: false, reason: 'feature_not_in_plan', entitlement: e }
    return { allowed: true, reason: 'ok', entitlement: e }
  }

  async function consume (userId: string, metric: string, { quantity = 1, idempotencyKey }: { quantity?: number, idempotencyKey?: string } = {}): Promise<UsageVerdict> {
    const unavailable = (error: TollgateUnavailableError): UsageVerdict => {
      onError(error)
      return { allowed: onUnavailable === 'open', reason: 'tollgate_unavailable', error }
    }
    let answer
    try {
      answer = await api.POST('/api/v1/usage/consume', { body: { user_id: userId, metric, quantity, ...(idempotencyKey !== undefined && { idempotency_key: idempotencyKey }) } })
    } catch (err) {
      return unavailable(new TollgateUnavailableError(`Tollgate did not answer: ${(err as Error).message}`, { cause: err }))
    }
    if (!answer.data) {
      const { status } = answer.response
      if (status < 500 && status !== 429) throw new Error(`Tollgate refused the usage count (${status}): ${JSON.stringify(answer.error)}`)
      return unavailable(new TollgateUnavailableError(`Tollgate answered ${status}`))
    }
    const usage = answer.data
    return { allowed: usage.allowed, reason: usage.allowed ? 'ok' : usage.reason ?? 'limit_reached', usage }
  }

  return {
    api,
    entitlement,
    check,
    consume,
    invalidate (userId) {
      cache.delete(userId)
      inFlight.delete(userId)
    },
    onUnavailable
  }
}
