import Fastify, { type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Deps } from '../deps.js'
import { loggerOptions } from '../logger.js'
import { defaultBudgetPerSecond } from '../stripe/budget.js'
import adminAuth from './plugins/admin-auth.js'
import apiAuth from './plugins/api-auth.js'
import errorsPlugin from './plugins/errors.js'
import lingeringClose from './plugins/lingering-close.js'
import metricsPlugin from './plugins/metrics.js'
import openapi from './plugins/openapi.js'
import rateLimit from './plugins/rate-limit.js'
import checkoutRoutes from './routes/checkout.js'
import entitlementRoutes from './routes/entitlements.js'
import adminRoutes from './routes/admin/index.js'
import healthRoutes from './routes/health.js'
import planRoutes from './routes/plans.js'
import subscriptionRoutes from './routes/subscriptions.js'
import usageRoutes from './routes/usage.js'
import webhookRoutes from './routes/webhook.js'

export interface AppOptions {
  deps: Deps
  logger?: FastifyServerOptions['logger']
  loggerInstance?: FastifyServerOptions['loggerInstance']
}

/** Builds the api without listening: `src/server.ts` listens, tests inject. */
export async function buildApp ({ deps, logger, loggerInstance }: AppOptions) {
  const app = Fastify({
    ...(loggerInstance ? { loggerInstance } : { logger: logger ?? loggerOptions(deps.config.LOG_LEVEL) }),
    // Slow or stalled clients must not hold sockets open.
    connectionTimeout: 30_000,
    requestTimeout: 15_000,
    // Node enforces the request timeout no sooner than headersTimeout (60 s by default) and checks
    // every 30 s, so without these a client trickling its body held a socket for about 90 s.
    http: { headersTimeout: 15_000, connectionsCheckingInterval: 2_000 },
    bodyLimit: 64 * 1024,
    trustProxy: true,
    routerOptions: { maxParamLength: 256 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  const { config } = deps
  await app.register(errorsPlugin)
  await app.register(lingeringClose)
  // The OpenAPI plugin must see every route being added, so it comes before them.
  await app.register(openapi)
  await app.register(apiAuth, { keys: config.API_KEYS })
  await app.register(adminAuth, { token: config.ADMIN_TOKEN })
  await app.register(metricsPlugin, { deps })
  const budgetDefault = defaultBudgetPerSecond(config.STRIPE_SECRET_KEY)
  await app.register(rateLimit, {
    redis: deps.redis,
    prefix: config.QUEUE_PREFIX,
    userPerMinute: config.RATE_LIMIT_USER_PER_MINUTE,
    readPerMinute: config.RATE_LIMIT_READ_PER_MINUTE,
    readsPerSecond: config.STRIPE_BUDGET_READS_PER_SECOND ?? budgetDefault,
    writesPerSecond: config.STRIPE_BUDGET_WRITES_PER_SECOND ?? budgetDefault
  })
  await app.register(healthRoutes, { deps })
  await app.register(webhookRoutes, { deps, hooks: { onQueued: type => app.metrics.webhookQueued(type) } })
  await app.register(planRoutes, { deps })
  await app.register(checkoutRoutes, { deps })
  await app.register(entitlementRoutes, { deps })
  await app.register(subscriptionRoutes, { deps })
  await app.register(usageRoutes, { deps })
  await app.register(adminRoutes, { deps })
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
