import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { listAttempts, replayDeliveries } from '../../../db/product-deliveries-repo.js'
import { addEndpoint, endpointById, listEndpoints, newSecret, rotateSecret, setEnabled, type EndpointRow } from '../../../db/product-endpoints-repo.js'
import type { Deps } from '../../../deps.js'
import { AppError } from '../../../errors.js'
import { webhookIdOf } from '../../../queue/processors/product-events.js'
import { resumeEndpoint, type HeadDeps } from '../../../queue/product-event-heads.js'
import { DeliveryAttempt, ProductEndpoint, ProductEndpointWithSecret, ReplayedProductEvents, SigningSecret } from '../../admin-schemas.js'
import { ErrorBody } from '../../schemas.js'

const view = (e: EndpointRow) => ({
  id: e.id, url: e.url, source: e.source, enabled: e.enabled, failure_run: e.failureRun, disabled_at: e.disabledAt?.toISOString() ?? null, secrets: e.secrets.length
})

const Id = Type.Object({ id: Type.Integer({ minimum: 1 }) })
const Url = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 })
const EventUuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description: 'A product event id (its webhook-id without msg_)' })
const security = [{ adminAuth: [] }]

const found = (row: EndpointRow | null, id: number): EndpointRow => {
  if (!row) throw new AppError(404, 'not_found', `No product endpoint ${id}`)
  return row
}

/** Where product events go, without a restart: list, add, disable, enable, rotate; the attempt log; replays. */
export default async function adminProductEndpointRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const heads: HeadDeps = { db: deps.db, queue: deps.queues.productEvents, config: deps.config }

  app.get('/admin/product-endpoints', {
    schema: { tags: ['admin'], summary: 'Endpoints product events are sent to', security, response: { 200: Type.Object({ data: Type.Array(ProductEndpoint) }), 401: ErrorBody } }
  }, async () => ({ data: (await listEndpoints(deps.db)).map(view) }))

  app.post('/admin/product-endpoints', {
    schema: {
      tags: ['admin'],
      summary: 'Add an endpoint; it receives the events written from now on',
      security,
      body: Type.Object({ url: Url, secret: Type.Optional(SigningSecret) }, { additionalProperties: false }),
      response: { 201: ProductEndpointWithSecret, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody }
    }
  }, async (req, reply) => {
    const secret = req.body.secret ?? newSecret()
    const row = await addEndpoint(deps.db, req.body.url, secret)
    if (!row) throw new AppError(409, 'endpoint_exists', 'An endpoint with this URL exists already')
    req.log.info({ endpointId: row.id }, 'product endpoint added')
    return reply.code(201).send({ endpoint: view(row), secret })
  })

  for (const enabled of [false, true]) {
    app.post(`/admin/product-endpoints/:id/${enabled ? 'enable' : 'disable'}`, {
      schema: {
        tags: ['admin'],
        summary: enabled ? 'Enable an endpoint (a new failure run starts); the events waiting for it go, each user\'s in order' : 'Stop sending to an endpoint; its pending events wait',
        security,
        params: Id,
        response: { 200: ProductEndpoint, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody }
      }
    }, async req => {
      const current = found(await endpointById(deps.db, req.params.id), req.params.id)
    if (enabled && current.source === 'retired') throw new AppError(409, 'retired_endpoint', 'This endpoint was dropped from PRODUCT_WEBHOOK_URL: add it there again')
    const row = found(await setEnabled(deps.db, req.params.id, enabled), req.params.id)
      if (enabled) await resumeEndpoint(heads, row.id)
      req.log.info({ endpointId: row.id, enabled }, 'product endpoint switched')
      return view(row)
    })
  }

  app.post('/admin/product-endpoints/:id/rotate', {
    schema: {
      tags: ['admin'],
      summary: 'Sign with a new secret; the previous one keeps signing too until the next rotation, unless keep_previous is false',
      security,
      params: Id,
      body: Type.Object({ secret: Type.Optional(SigningSecret), keep_previous: Type.Boolean({ default: true }) }, { additionalProperties: false }),
      response: { 200: ProductEndpointWithSecret, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody }
    }
  }, async req => {
    const current = found(await endpointById(deps.db, req.params.id), req.params.id)
    if (current.source !== 'admin') throw new AppError(409, 'configured_endpoint', 'This endpoint comes from PRODUCT_WEBHOOK_URL: rotate PRODUCT_WEBHOOK_SECRET (new secret first, then the old one) and restart')
    const secret = req.body.secret ?? newSecret()
    const row = found(await rotateSecret(deps.db, current.id, secret, req.body.keep_previous), current.id)
    req.log.info({ endpointId: row.id, secrets: row.secrets.length }, 'product endpoint secret rotated')
    return { endpoint: view(row), secret }
  })

  app.get('/admin/product-deliveries', {
    schema: {
      tags: ['admin'],
      summary: 'Delivery attempts of product events, newest first: status, latency, the answer\'s first bytes',
      security,
      querystring: Type.Object({
        event_id: Type.Optional(EventUuid),
        endpoint_id: Type.Optional(Type.Integer({ minimum: 1 })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 }))
      }),
      response: { 200: Type.Object({ data: Type.Array(DeliveryAttempt) }), 400: ErrorBody, 401: ErrorBody }
    }
  }, async req => {
    const rows = await listAttempts(deps.db, { eventId: req.query.event_id, endpointId: req.query.endpoint_id, limit: req.query.limit ?? 50 })
    return {
      data: rows.map(r => ({
        id: r.id, endpoint_id: r.endpointId, event_id: r.eventId, webhook_id: webhookIdOf(r.eventId), type: r.type, user_id: r.userId, seq: r.seq,
        attempt: r.attempt, status: r.status, ok: r.ok, latency_ms: r.latencyMs, response: r.response, at: r.at.toISOString()
      }))
    }
  })

  const replay = async (opts: Parameters<typeof replayDeliveries>[1]) => {
    const { events, users } = await replayDeliveries(deps.db, opts)
    const queued = await resumeEndpoint(heads, opts.endpointId)
    return { events, users: users.length, queued }
  }

  app.post('/admin/product-events/:event_id/replay', {
    schema: {
      tags: ['admin'],
      summary: 'Send one product event again (same webhook-id) to every enabled endpoint, or the one named',
      security,
      params: Type.Object({ event_id: EventUuid }),
      querystring: Type.Object({ endpoint_id: Type.Optional(Type.Integer({ minimum: 1 })) }),
      response: { 202: ReplayedProductEvents, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (req, reply) => {
    const result = await replay({ eventId: req.params.event_id, endpointId: req.query.endpoint_id })
    if (result.events === 0) throw new AppError(404, 'not_found', `No product event ${req.params.event_id} (or no enabled endpoint)`)
    return reply.code(202).send(result)
  })

  app.post('/admin/product-events/replay', {
    schema: {
      tags: ['admin'],
      summary: 'Send again every product event written in a time range (e.g. while an endpoint was disabled), each user\'s in order',
      security,
      body: Type.Object({
        from: Type.String({ format: 'date-time' }),
        to: Type.String({ format: 'date-time' }),
        endpoint_id: Type.Optional(Type.Integer({ minimum: 1 }))
      }, { additionalProperties: false }),
      response: { 202: ReplayedProductEvents, 400: ErrorBody, 401: ErrorBody }
    }
  }, async (req, reply) => {
    const [from, to] = [new Date(req.body.from), new Date(req.body.to)]
    if (!(from <= to)) throw new AppError(400, 'invalid_request', 'from must not be after to')
    return reply.code(202).send(await replay({ from, to, endpointId: req.body.endpoint_id }))
  })
}
