import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { readEntitlements } from '../../billing/use-cases/read-entitlements.js'
import type { Deps } from '../../deps.js'
import { Entitlement, UserId } from '../api-schemas.js'
import { ErrorBody } from '../schemas.js'

export default async function entitlementRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireApiKey)
  const cache = { db: deps.db, redis: deps.redis, prefix: deps.config.QUEUE_PREFIX, ttlSeconds: deps.config.ENTITLEMENTS_CACHE_TTL_SECONDS }

  app.get('/api/v1/entitlements/:user_id', {
    config: { rateLimit: app.rateLimits.read },
    schema: {
      tags: ['entitlements'],
      summary: "A user's plan, access, features and limits",
      security: [{ bearerAuth: [] }],
      params: Type.Object({ user_id: UserId }),
      response: { 200: Entitlement, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody }
    }
  }, async req => await readEntitlements(cache, req.params.user_id))
}
