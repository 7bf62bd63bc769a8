import type { FastifyInstance } from 'fastify'
import { listPlans } from '../../billing/use-cases/list-plans.js'
import type { Deps } from '../../deps.js'
import { PlanList } from '../api-schemas.js'

/** Public: a pricing page may call it without a key. */
export default async function planRoutes (app: FastifyInstance, { deps }: { deps: Deps }) {
  app.get('/api/v1/plans', {
    schema: { tags: ['plans'], summary: 'Plans with live prices', response: { 200: PlanList } }
  }, async () => await listPlans({ ...deps, prefix: deps.config.QUEUE_PREFIX }))
}
