import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../../deps.js'
import { lazyScope } from '../../lazy-scope.js'

export const DASHBOARD_PATH = '/admin/queues'

/**
 * The queue dashboard, inside the admin scope whose token check (a basic-auth prompt in a browser)
 * runs first. bull-board and what it brings (two copies of its api, valibot, lodash, a template
 * engine, a static file server) load on the first request for the dashboard, not at start.
 */
export default async function queueDashboard (app: FastifyInstance, { deps }: { deps: Deps }) {
  lazyScope(app, DASHBOARD_PATH, async () => {
    const { registerQueueBoard } = await import('./queue-board.js')
    return inner => registerQueueBoard(inner, deps.queues, DASHBOARD_PATH)
  })
}
