import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { createSyncUser } from '../../../billing/use-cases/sync-user.js'
import { userTimeline } from '../../../billing/use-cases/user-timeline.js'
import type { Deps } from '../../../deps.js'
import { userIdForLog } from '../../../log-redaction.js'
import { applyDepsOf } from '../../../queue/apply-ports.js'
import { SyncAnswer, Timeline } from '../../admin-schemas.js'
import { UserId } from '../../api-schemas.js'
import { ErrorBody } from '../../schemas.js'

/** One user's billing: resync from Stripe, and the story so far. */
export default async function adminUserRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const syncUser = createSyncUser(applyDepsOf(deps))

  app.post('/admin/users/:user_id/sync', {
    schema: {
      tags: ['admin'],
      summary: "Re-read the user's subscriptions from Stripe and apply them",
      security: [{ adminAuth: [] }],
      params: Type.Object({ user_id: UserId }),
      response: { 200: SyncAnswer, 401: ErrorBody, 404: ErrorBody, 502: ErrorBody }
    }
  }, async req => {
    const result = await syncUser(req.params.user_id)
    req.log.info({ userId: userIdForLog(req.params.user_id), subscriptions: result.subscriptions.length }, 'user synced from Stripe')
    return result
  })

  app.get('/admin/users/:user_id/timeline', {
    schema: {
      tags: ['admin'],
      summary: "The user's events, outcomes, emails and current state, oldest first",
      security: [{ adminAuth: [] }],
      params: Type.Object({ user_id: UserId }),
      response: { 200: Timeline, 401: ErrorBody, 404: ErrorBody }
    }
  }, async req => await userTimeline(deps.db, req.params.user_id, deps.catalogue))
}
