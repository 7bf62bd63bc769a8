import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { countUsageOf, usageLines } from '../../billing/use-cases/count-usage.js'
import { readSnapshot } from '../../billing/use-cases/read-entitlements.js'
import type { Deps } from '../../deps.js'
import { counterOn } from '../../queue/usage-counter.js'
import { createRedis } from '../../queue/connections.js'
import { RecordBody, UsageAnswer, UsageBody, UserId, UserUsage } from '../api-schemas.js'
import { entitlementCacheReadHook } from '../entitlement-cache-read.js'
import { ErrorBody } from '../schemas.js'

const errors = { 400: ErrorBody, 401: ErrorBody, 415: ErrorBody, 429: ErrorBody }

/**
 * Usage quotas. The product calls consume or record on every request it serves, so these sit under
 * the per-key read limit and never call Stripe.
 */
export default async function usageRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireApiKey)
  // A connection of their own that never sends a command twice: ioredis re-sends what was in flight
  // when a connection drops, and a count Redis ran before the drop would then run again. A call whose
  // fate is unknown fails instead (500); a retry with its idempotency_key counts it once.
  const counter = createRedis(deps.config.REDIS_URL, 'producer', { connectionName: 'tollgate:usage', autoResendUnfulfilledCommands: false })
  app.addHook('onClose', async () => { counter.disconnect() })
  const usage = {
    db: deps.db,
    // The entitlement cache is read on the connection the rate limiter counts on: both leave in one write.
    redis: deps.redis,
    prefix: deps.config.QUEUE_PREFIX,
    ttlSeconds: deps.config.ENTITLEMENTS_CACHE_TTL_SECONDS,
    catalogue: deps.catalogue,
    count: counterOn({ redis: counter, db: deps.db, prefix: deps.config.QUEUE_PREFIX })
  }
  const schema = { tags: ['usage'], security: [{ bearerAuth: [] }] }
  // The user is named in the body of a POST: its limiter waits for the parsed body, so that the cache
  // read starts before it, in the same phase.
  const cacheRead = entitlementCacheReadHook(app, usage, req => (req.body as { user_id?: unknown } | undefined)?.user_id)
  const common = { preValidation: cacheRead, config: { rateLimit: { ...app.rateLimits.read, hook: 'preValidation' as const } } }

  app.post('/api/v1/usage/consume', {
    ...common,
    schema: {
      ...schema,
      summary: 'Check a metered limit and count, atomically: a hard limit counts nothing it would pass',
      body: UsageBody,
      response: { 200: UsageAnswer, ...errors }
    }
  }, async req => await countUsageOf(usage, 'consume', { ...req.body, quantity: req.body.quantity ?? 1 }, req.entitlementCacheRead ?? undefined))

  app.post('/api/v1/usage/record', {
    ...common,
    schema: {
      ...schema,
      summary: 'Count usage that already happened, even past the limit (overage)',
      body: RecordBody,
      response: { 200: UsageAnswer, ...errors }
    }
  }, async req => await countUsageOf(usage, 'record', req.body, req.entitlementCacheRead ?? undefined))

  app.get('/api/v1/usage/:user_id', {
    onRequest: entitlementCacheReadHook(app, usage, req => (req.params as { user_id: string }).user_id),
    config: { rateLimit: app.rateLimits.read },
    schema: {
      ...schema,
      summary: "Every metered limit of the user's plan, as used this period",
      params: Type.Object({ user_id: UserId }),
      response: { 200: UserUsage, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody }
    }
  }, async req => ({ user_id: req.params.user_id, usage: await usageLines(usage, req.params.user_id, await readSnapshot(usage, req.params.user_id, req.entitlementCacheRead ?? undefined)) }))
}
