import { randomToken } from '../ids.js'
import { ApiError, idempotencyMismatch, injectedFailure, notFoundRoute, unauthorized } from '../wire/errors.js'
import { parseForm, toList } from '../wire/form.js'
import { expandPaths } from './expand.js'
import { checkParams } from './params.js'
import { renderTree } from '../render.js'
import { matchRoute, type Route } from './route.js'
import type { Ctx } from '../context.js'

export interface ApiAnswer {
  status: number
  body: unknown
  headers: Record<string, string>
}

// Stripe takes the key as a bearer token or as the user name of basic auth (`curl -u sk_test_…:`).
export function apiKeyOf (header: string): string {
  const basic = /^Basic\s+(.+)$/i.exec(header)
  return basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')[0]!.trim() : header.replace(/^Bearer\s+/i, '').trim()
}

function authError (header: string | undefined): ApiError | undefined {
  if (!header) {
    return unauthorized(
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
    )
  }
  const key = apiKeyOf(header)
  if (!/^(sk|rk)_test_/.test(key)) {
    return unauthorized(`Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`)
  }
  return undefined
}

const errorAnswer = (err: ApiError): ApiAnswer => ({ status: err.status, body: err.body(), headers: err.headers })

// Everything under /v1: injected faults, auth, idempotency, routing, expand — in Stripe's order.
export function handleApi (
  ctx: Ctx,
  routes: Route[],
  input: { method: string, path: string, query: string, rawBody: string, headers: Record<string, string | string[] | undefined>, requestId: string }
): ApiAnswer {
  if (ctx.failApi.count > 0) {
    ctx.failApi.count -= 1
    return errorAnswer(injectedFailure(ctx.failApi.status))
  }
  const auth = authError(input.headers.authorization as string | undefined)
  if (auth) return errorAnswer(auth)
  const idempotencyKey = input.method === 'POST' ? ((input.headers['idempotency-key'] as string | undefined) ?? null) : null
  const fingerprint = `${input.method} ${input.path} ${input.rawBody}`
  if (idempotencyKey) {
    const stored = ctx.store.idempotency.get(idempotencyKey)
    if (stored && stored.fingerprint !== fingerprint) return errorAnswer(idempotencyMismatch(idempotencyKey))
    if (stored) return { status: stored.status, body: JSON.parse(stored.body), headers: { 'Idempotent-Replayed': 'true', 'Original-Request': stored.requestId } }
  }
  try {
    const matched = matchRoute(routes, input.method, input.path)
    if (!matched) throw notFoundRoute(input.method, input.path)
    const body = { ...parseForm(input.query), ...(input.method === 'POST' ? parseForm(input.rawBody) : {}) }
    if (matched.route.params) checkParams(matched.route.params, body)
    const result = matched.route.handler(ctx, {
      params: matched.params,
      body,
      headers: input.headers,
      request: { id: input.requestId, idempotency_key: idempotencyKey }
    })
    const answer = renderTree(ctx, expandPaths(ctx, structuredClone(result), toList(body.expand)))
    if (idempotencyKey) {
      ctx.store.idempotency.set(idempotencyKey, { fingerprint, status: 200, body: JSON.stringify(answer), requestId: input.requestId })
    }
    return { status: 200, body: answer, headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {} }
  } catch (err) {
    // A declined payment happened (its objects and events exist): a retry with the key replays the 402.
    if (err instanceof ApiError && err.status === 402 && idempotencyKey) {
      ctx.store.idempotency.set(idempotencyKey, { fingerprint, status: 402, body: JSON.stringify(err.body()), requestId: input.requestId })
    }
    if (err instanceof ApiError) return errorAnswer(err)
    ctx.log('internal error', err)
    return errorAnswer(injectedFailure(500))
  }
}

export const newRequestId = () => `req_${randomToken(14)}`
