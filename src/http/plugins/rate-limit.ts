import { createHash } from 'node:crypto'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { AppError } from '../../errors.js'
import { createStripeBudget, type StripeCost } from '../../stripe/budget.js'

interface RouteLimit {
  max: number
  timeWindow: number
  hook?: 'preValidation'
  keyGenerator?: (req: FastifyRequest) => string
}
import type { RedisClient } from '../../queue/connections.js'

export interface RateLimits {
  /** Routes that call Stripe, per end user (API key + `user_id`): one user's abuse, e.g. card testing. */
  user: RouteLimit
  /** Entitlement and status reads, which the product makes on every request it serves: per API key. */
  read: RouteLimit
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: RateLimits
    /** preHandler hook that takes `cost` (or what the request costs) from the Stripe budget every api process shares, or answers 429. */
    stripeBudget: (cost: StripeCost | ((req: FastifyRequest) => StripeCost)) => preHandlerAsyncHookHandler
    /** The same, for work that calls Stripe only sometimes (checkout-status): throws the 429. */
    takeStripeBudget: (cost: StripeCost, reply: FastifyReply) => Promise<void>
  }
}

export interface RateLimitOptions {
  redis: RedisClient
  prefix: string
  userPerMinute: number
  readPerMinute: number
  readsPerSecond: number
  writesPerSecond: number
}

/** The user's Redis key names a hash of the id, so an id that is an email address is not stored in Redis. */
function endUser (req: FastifyRequest): string {
  const userId = (req.body as { user_id?: unknown } | undefined)?.user_id
  const user = typeof userId === 'string' ? createHash('sha256').update(userId).digest('hex').slice(0, 16) : '-'
  return `${req.apiKeyId ?? req.ip}:${user}`
}

/**
 * Per-route limits (no global one) counted in Redis, so every api replica shares them. One API key is
 * a whole product's backend, so routes that call Stripe are limited per end user (the key with the
 * body's `user_id`, counted once the body is parsed) rather than per key, and Stripe itself is
 * protected by one budget of requests per second shared by every api process (src/stripe/budget.ts).
 * Every 429 says when to come back in `Retry-After`. If Redis cannot answer, requests go through: a
 * cache outage must not take billing down with it.
 */
export default fp(async function rateLimitPlugin (app: FastifyInstance, opts: RateLimitOptions) {
  await app.register(rateLimit, {
    global: false,
    redis: opts.redis,
    nameSpace: `${opts.prefix}:ratelimit:`,
    skipOnError: true,
    // The api key hash is set by the auth hook, which runs before this route-level hook.
    keyGenerator: req => req.apiKeyId ?? req.ip,
    errorResponseBuilder: (_req, ctx) => new AppError(429, 'rate_limited', `Rate limit of ${ctx.max} requests exceeded; retry in ${ctx.after}`)
  })
  const budget = createStripeBudget(opts)
  async function takeStripeBudget (cost: StripeCost, reply: FastifyReply) {
    const answer = await budget.take(cost).catch((err: unknown) => {
      reply.log.warn({ err }, 'stripe budget unavailable; request let through')
      return { ok: true as const }
    })
    if (answer.ok) return
    const seconds = Math.max(1, Math.ceil(answer.retryAfterMs / 1000))
    reply.header('retry-after', String(seconds))
    throw new AppError(429, 'stripe_busy', `Tollgate is at its budget of Stripe requests per second, shared by every api process; retry in ${seconds} s`)
  }
  app.decorate('takeStripeBudget', takeStripeBudget)
  app.decorate('stripeBudget', (cost: StripeCost | ((req: FastifyRequest) => StripeCost)) => async function stripeBudget (req: FastifyRequest, reply: FastifyReply) {
    await takeStripeBudget(typeof cost === 'function' ? cost(req) : cost, reply)
  })
  app.decorate('rateLimits', {
    user: { max: opts.userPerMinute, timeWindow: 60_000, hook: 'preValidation', keyGenerator: endUser },
    read: { max: opts.readPerMinute, timeWindow: 60_000 }
  })
}, { name: 'rate-limit', dependencies: ['api-auth'] })
