import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { replayEvent } from '../../../billing/use-cases/replay-event.js'
import { listEvents, type EventSummaryRow } from '../../../db/events-repo.js'
import type { Deps } from '../../../deps.js'
import { AppError } from '../../../errors.js'
import { EventId, EventList, Outcome, ReplayAnswer } from '../../admin-schemas.js'
import { ErrorBody } from '../../schemas.js'

const view = (r: EventSummaryRow) => ({
  event_id: r.eventId,
  type: r.type,
  created: r.created,
  received_at: r.receivedAt.toISOString(),
  processed_at: r.processedAt?.toISOString() ?? null,
  outcome: r.outcome,
  user_id: r.userId,
  error: r.error
})

/** The audit trail of Stripe events (stripe_events) and replays from it. */
export default async function adminEventRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/admin/events', {
    schema: {
      tags: ['admin'],
      summary: 'Recorded Stripe events, newest first, without payloads',
      security: [{ adminAuth: [] }],
      querystring: Type.Object({
        status: Type.Optional(Outcome),
        type: Type.Optional(Type.String({ maxLength: 100 })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
        starting_after: Type.Optional(EventId)
      }),
      response: { 200: EventList, 400: ErrorBody, 401: ErrorBody }
    }
  }, async req => {
    const { status, type, limit = 20, starting_after: startingAfter } = req.query
    const rows = await listEvents(deps.db, { status, type, limit, startingAfter })
    if (!rows) throw new AppError(400, 'invalid_request', `starting_after names no recorded event: ${startingAfter}`)
    return { data: rows.slice(0, limit).map(view), has_more: rows.length > limit }
  })

  app.post('/admin/events/:event_id/replay', {
    schema: {
      tags: ['admin'],
      summary: 'Run a recorded event through the worker again (a failed one is applied, others are no-ops)',
      security: [{ adminAuth: [] }],
      params: Type.Object({ event_id: EventId }),
      response: { 202: ReplayAnswer, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody }
    }
  }, async (req, reply) => {
    const result = await replayEvent(deps, req.params.event_id)
    req.log.info({ eventId: result.event_id, jobId: result.job_id, via: result.via }, 'event replay queued')
    return reply.code(202).send(result)
  })
}
