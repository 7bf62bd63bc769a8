import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { AppError } from '../../errors.js'
import { bearerToken, digest } from '../secret-match.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** A short hash naming the API key that authenticated the request (rate limits, logs); never the key. */
    apiKeyId: string | null
  }
  interface FastifyInstance {
    /** onRequest hook for product-facing routes: `Authorization: Bearer <one of API_KEYS>`. */
    requireApiKey: onRequestAsyncHookHandler
  }
}

/**
 * Keys are compared as SHA-256 digests: equal length whatever the caller sends, so
 * `timingSafeEqual` applies and the comparison time says nothing about the keys. Every key is
 * compared, so the time does not say which one matched either.
 */
export default fp(async function apiAuth (app: FastifyInstance, opts: { keys: readonly string[] }) {
  const keys = opts.keys.map(k => ({ digest: digest(k), id: digest(k).subarray(0, 6).toString('hex') }))
  app.decorateRequest('apiKeyId', null)
  app.decorate('requireApiKey', async function requireApiKey (req: FastifyRequest) {
    const token = bearerToken(req.headers.authorization)
    const given = digest(token ?? '')
    let found: string | null = null
    for (const k of keys) if (timingSafeEqual(given, k.digest)) found = k.id
    if (token === null || !found) throw new AppError(401, 'unauthorized', 'Missing or invalid API key: send Authorization: Bearer <key>')
    req.apiKeyId = found
  })
}, { name: 'api-auth' })
