import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Deps } from '../../deps.js'
import { createMetrics, type Metrics } from '../../metrics/metrics.js'
import { bearerToken, secretMatcher } from '../secret-match.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
  interface FastifyRequest {
    metricsStart: bigint
  }
}

/**
 * HTTP metrics and `GET /metrics`. Without METRICS_TOKEN the endpoint is open, the usual setup with
 * Prometheus on a private network (keep /metrics off the public load balancer); with it, scrapes
 * need `Authorization: Bearer <METRICS_TOKEN>`. ADMIN_TOKEN is deliberately not accepted: a
 * scraper's credential should not open the admin API.
 */
export default fp(async function metricsPlugin (app: FastifyInstance, { deps }: { deps: Deps }) {
  const metrics = createMetrics({ queues: Object.values(deps.queues), redis: deps.redis, prefix: deps.config.QUEUE_PREFIX })
  const tokenMatches = deps.config.METRICS_TOKEN ? secretMatcher(deps.config.METRICS_TOKEN) : null
  app.decorate('metrics', metrics)
  app.decorateRequest('metricsStart', 0n)
  app.addHook('onRequest', async req => { req.metricsStart = process.hrtime.bigint() })
  app.addHook('onResponse', async (req, reply) => {
    const seconds = Number(process.hrtime.bigint() - req.metricsStart) / 1e9
    metrics.observeRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, seconds)
  })

  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (tokenMatches && !tokenMatches(bearerToken(req.headers.authorization))) {
      return reply.code(401).send({ error: 'unauthorized', message: 'Send Authorization: Bearer <METRICS_TOKEN>' })
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}, { name: 'metrics' })
