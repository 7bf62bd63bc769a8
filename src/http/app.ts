import Fastify, { type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Deps } from '../deps.js'
import { loggerOptions } from '../logger.js'
import errorsPlugin from './plugins/errors.js'
import healthRoutes from './routes/health.js'
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
    bodyLimit: 64 * 1024,
    trustProxy: true,
    routerOptions: { maxParamLength: 256 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorsPlugin)
  await app.register(healthRoutes, { deps })
  await app.register(webhookRoutes, { deps })
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
