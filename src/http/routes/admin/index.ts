import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../../deps.js'
import adminEventRoutes from './events.js'
import adminJobRoutes from './jobs.js'
import adminProductEndpointRoutes from './product-endpoints.js'
import queueDashboard from './queues.js'
import adminUserRoutes from './users.js'

/**
 * Every `/admin` route lives in this one scope, whose onRequest hook requires the admin token:
 * a new admin route cannot be added without it.
 */
export default async function adminRoutes (app: FastifyInstance, { deps }: { deps: Deps }) {
  app.addHook('onRequest', app.requireAdmin)
  await app.register(adminEventRoutes, { deps })
  await app.register(adminJobRoutes, { deps })
  await app.register(adminUserRoutes, { deps })
  await app.register(adminProductEndpointRoutes, { deps })
  await app.register(queueDashboard, { deps })
}
