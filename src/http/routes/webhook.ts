import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { Deps } from '../../deps.js'
import { AppError } from '../../errors.js'
import { faultPoint } from '../../fault-points.js'
import { withTimeout } from '../../with-timeout.js'
import { verifyStripeEvent, WebhookVerificationError, toEventJobInPlace } from '../../stripe/webhook.js'
import { ErrorBody } from '../schemas.js'

/**
 * Longest the route waits for Redis before answering 503 so Stripe retries later. One second leaves
 * room for a busy host inside the promised 2 s: at 1.5 s the fault suite measured 2.1 s answers on a
 * loaded machine with Redis paused.
 */
const ENQUEUE_TIMEOUT_MS = 1000

export interface WebhookHooks {
  /** Called after an event is durably queued (metrics). */
  onQueued?: (type: string) => void
}

/**
 * Stripe → Tollgate. Raw bytes are verified before anything is parsed; the event is acknowledged
 * only once its job is in Redis. Event work happens in the workers, never here.
 */
export default async function webhookRoutes (app: FastifyInstance, opts: { deps: Deps, hooks?: WebhookHooks }) {
  const { deps, hooks } = opts
  const { config } = deps

  // Scoped to this plugin: every other route keeps Fastify's JSON parser.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: config.WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body))
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.WEBHOOK_BODY_LIMIT }, (req, _body, done) => {
    done(new AppError(400, 'invalid_content_type', `Content-Type must be application/json, got "${req.headers['content-type'] ?? ''}"`), undefined)
  })

  app.post('/api/v1/webhook', {
    bodyLimit: config.WEBHOOK_BODY_LIMIT,
    schema: {
      tags: ['webhook'],
      summary: 'Stripe webhook endpoint (signed by Stripe)',
      headers: Type.Object({ 'stripe-signature': Type.Optional(Type.String()) }),
      response: {
        200: Type.Object({ status: Type.Literal('received') }),
        400: ErrorBody,
        413: ErrorBody,
        503: ErrorBody
      }
    }
  }, async (req, reply) => {
    const raw = req.body
    if (!Buffer.isBuffer(raw) || raw.length === 0) throw new AppError(400, 'invalid_payload', 'Body is empty')
    let event
    try {
      event = verifyStripeEvent(raw, req.headers['stripe-signature'] as string | undefined, config.STRIPE_WEBHOOK_SECRET, config.WEBHOOK_TOLERANCE_SECONDS)
    } catch (err) {
      if (err instanceof WebhookVerificationError) {
        // warn: a wrong STRIPE_WEBHOOK_SECRET refuses every event until someone reads this line.
        req.log.warn({ code: err.code }, `webhook refused: ${err.reason}`)
        throw new AppError(400, err.code, err.message)
      }
      throw err
    }
    if (typeof event.id !== 'string' || !/^evt_[A-Za-z0-9_]{1,255}$/.test(event.id) || typeof event.type !== 'string') {
      throw new AppError(400, 'invalid_payload', 'Body is not a Stripe event')
    }
    try {
      await withTimeout(deps.queues.stripeEvents.add(event.type, toEventJobInPlace(event), { jobId: event.id }), ENQUEUE_TIMEOUT_MS)
    } catch (err) {
      req.log.error({ err, eventId: event.id }, 'could not queue webhook event')
      throw new AppError(503, 'queue_unavailable', 'Event could not be queued; retry later')
    }
    await faultPoint('after-enqueue', event.id)
    req.log.info({ eventId: event.id, eventType: event.type }, 'webhook queued')
    hooks?.onQueued?.(event.type)
    return reply.code(200).send({ status: 'received' as const })
  })
}
