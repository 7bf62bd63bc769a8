import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { hostClock } from '../../billing/clock.js'
import { toEntitlement } from '../../billing/entitlement-view.js'
import { usageLines } from '../../billing/use-cases/count-usage.js'
import { readSnapshot } from '../../billing/use-cases/read-entitlements.js'
import type { Deps } from '../../deps.js'
import { counterOn } from '../../queue/usage-counter.js'
import { Entitlement, UserId } from '../api-schemas.js'
import { entitlementCacheReadHook } from '../entitlement-cache-read.js'
import { ErrorBody } from '../schemas.js'

export default async function entitlementRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireApiKey)
  const cache = {
    db: deps.db,
    redis: deps.redis,
    prefix: deps.config.QUEUE_PREFIX,
    ttlSeconds: deps.config.ENTITLEMENTS_CACHE_TTL_SECONDS,
    catalogue: deps.catalogue,
    count: counterOn({ redis: deps.redis, db: deps.db, prefix: deps.config.QUEUE_PREFIX })
  }

  app.get('/api/v1/entitlements/:user_id', {
    // After the API-key check, before the rate limiter.
    onRequest: entitlementCacheReadHook(app, cache, req => (req.params as { user_id: string }).user_id),
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
