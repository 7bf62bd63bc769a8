import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { listFailedJobs, retryFailedJobs } from '../../../queue/dead-letter.js'
import { QUEUES, type QueueName as Name } from '../../../queue/policy.js'
import { FailedJob, QueueName } from '../../admin-schemas.js'
import { ErrorBody } from '../../schemas.js'

/** The dead-letter queues: each queue's failed set. */
export default async function adminJobRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const byName: Record<Name, typeof deps.queues[keyof typeof deps.queues]> = {
    [QUEUES.stripeEvents]: deps.queues.stripeEvents,
    [QUEUES.email]: deps.queues.email,
    [QUEUES.prices]: deps.queues.prices,
    [QUEUES.productEvents]: deps.queues.productEvents
  }

  app.get('/admin/jobs/failed', {
    schema: {
      tags: ['admin'],
      summary: 'Jobs in the failed set (dead-letter queue) of one queue, newest first',
      security: [{ adminAuth: [] }],
      querystring: Type.Object({ queue: QueueName, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }),
      response: { 200: Type.Object({ data: Type.Array(FailedJob) }), 400: ErrorBody, 401: ErrorBody }
    }
  }, async req => ({ data: await listFailedJobs(byName[req.query.queue], req.query.limit ?? 100) }))

  app.post('/admin/jobs/failed/retry', {
    schema: {
      tags: ['admin'],
      summary: 'Retry failed jobs of one queue with fresh attempts: the named ones, or up to 1000 of them',
      security: [{ adminAuth: [] }],
      body: Type.Object({
        queue: QueueName,
        job_ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { maxItems: 1000 }))
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ retried: Type.Array(Type.String()) }), 400: ErrorBody, 401: ErrorBody }
    }
  }, async req => {
    const retried = await retryFailedJobs(byName[req.body.queue], req.body.job_ids)
    req.log.info({ queue: req.body.queue, retried: retried.length }, 'failed jobs retried')
    return { retried }
  })
}
