import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AppError } from '../../errors.js'
import type { RedisClient } from '../../queue/connections.js'

export interface RateLimits {
  /** Routes that call Stripe: Stripe's own limits and card-testing abuse make these tight. */
  stripe: { max: number, timeWindow: number }
  /** Entitlement and status reads, which the product makes on every request it serves. */
  read: { max: number, timeWindow: number }
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: RateLimits
  }
}

/**
 * Per-route limits (no global one), counted per API key in Redis so that every api replica shares
 * the budget. Routes opt in with `config: { rateLimit: app.rateLimits.stripe }`. If Redis cannot
 * answer, requests go through: a cache outage must not take billing down with it.
 */
export default fp(async function rateLimitPlugin (app: FastifyInstance, opts: { redis: RedisClient, prefix: string, stripePerMinute: number, readPerMinute: number }) {
  await app.register(rateLimit, {
    global: false,
    redis: opts.redis,
    nameSpace: `${opts.prefix}:ratelimit:`,
    skipOnError: true,
    // The api key hash is set by the auth hook, which runs before this route-level hook.
    keyGenerator: req => req.apiKeyId ?? req.ip,
    errorResponseBuilder: (_req, ctx) => new AppError(429, 'rate_limited', `Rate limit of ${ctx.max} requests per ${ctx.after} exceeded; retry later`)
  })
  app.decorate('rateLimits', {
    stripe: { max: opts.stripePerMinute, timeWindow: 60_000 },
    read: { max: opts.readPerMinute, timeWindow: 60_000 }
  })
}, { name: 'rate-limit', dependencies: ['api-auth'] })
