import type { FastifyInstance, FastifyRequest } from 'fastify'
import { readCachedEntitlement, type CacheRead, type ReadEntitlementsDeps } from '../billing/use-cases/read-entitlements.js'
import { UserId } from './api-schemas.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The entitlement cache read, started alongside the rate limiter's count. */
    entitlementCacheRead: CacheRead | null
  }
}

const USER_ID = new RegExp((UserId as { pattern?: string }).pattern!)

/**
 * A route hook that starts the cache read of the request's user, to be placed before the rate
 * limiter's hook of the same phase (@fastify/rate-limit appends its hook to the route's): the read
 * and the limiter's count then leave for Redis in one write and come back in one round trip rather
 * than two in a row. Only Redis is read before the limiter answers: a miss goes to Postgres in the
 * handler, once the request is allowed and validated. An id the schema will refuse never reaches Redis.
 */
export function entitlementCacheReadHook (app: FastifyInstance, cache: ReadEntitlementsDeps, userIdOf: (req: FastifyRequest) => unknown) {
  if (!app.hasRequestDecorator('entitlementCacheRead')) app.decorateRequest('entitlementCacheRead', null)
  return async (req: FastifyRequest) => {
    const userId = userIdOf(req)
    if (typeof userId === 'string' && USER_ID.test(userId)) req.entitlementCacheRead = readCachedEntitlement(cache, userId)
  }
}
