import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { hostClock } from '../../billing/clock.js'
import { toEntitlement } from '../../billing/entitlement-view.js'
import { usageLines } from '../../billing/use-cases/count-usage.js'
import { readCachedEntitlement, readSnapshot, type CacheRead } from '../../billing/use-cases/read-entitlements.js'
import type { Deps } from '../../deps.js'
import { counterOn } from '../../queue/usage-counter.js'
import { Entitlement, UserId } from '../api-schemas.js'
import { ErrorBody } from '../schemas.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The entitlement cache read, started alongside the rate limiter's count. */
    entitlementCacheRead: CacheRead | null
  }
}

const USER_ID = new RegExp((UserId as { pattern?: string }).pattern!)

export default async function entitlementRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireApiKey)
  app.decorateRequest('entitlementCacheRead', null)
  const cache = {
    db: deps.db,
    redis: deps.redis,
    prefix: deps.config.QUEUE_PREFIX,
    ttlSeconds: deps.config.ENTITLEMENTS_CACHE_TTL_SECONDS,
    catalogue: deps.catalogue,
    count: counterOn({ redis: deps.redis, db: deps.db, prefix: deps.config.QUEUE_PREFIX })
  }

  app.get('/api/v1/entitlements/:user_id', {
    // Runs after the API-key check and before the rate limiter's hook (which @fastify/rate-limit
    // appends to the route's onRequest hooks), so the cache read and the limiter's count go to Redis
    // together, in one round trip rather than two in a row. Only Redis is read before the limiter
    // answers: a miss goes to Postgres in the handler, once the request is allowed and validated.
    // An id the schema will refuse never reaches Redis.
    onRequest: async req => { if (USER_ID.test(req.params.user_id)) req.entitlementCacheRead = readCachedEntitlement(cache, req.params.user_id) },
    config: { rateLimit: app.rateLimits.read },
    schema: {
      tags: ['entitlements'],
      summary: "A user's plan, access, features, limits and usage this period",
      security: [{ bearerAuth: [] }],
      params: Type.Object({ user_id: UserId }),
      response: { 200: Entitlement, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody }
    }
  }, async req => {
    const snapshot = await readSnapshot(cache, req.params.user_id, req.entitlementCacheRead ?? undefined)
    return { ...toEntitlement(req.params.user_id, snapshot, hostClock), usage: await usageLines(cache, req.params.user_id, snapshot) }
  })
}
