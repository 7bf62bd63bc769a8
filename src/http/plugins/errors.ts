import type { FastifyInstance, FastifyError } from 'fastify'
import fp from 'fastify-plugin'
import Stripe from 'stripe'
import { postgresCause } from '../../db/errors.js'
import { AppError } from '../../errors.js'

const codeByStatus: Record<number, string> = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict',
  413: 'payload_too_large', 415: 'unsupported_media_type', 429: 'rate_limited', 503: 'unavailable'
}

/**
 * One error handler: `{error, message}` bodies, validation errors as 400, Stripe failures as 502 with
 * Stripe's message and request id (Stripe's rate limit as 429 with `Retry-After`), and other 5xx text
 * masked so internals never reach a client.
 */
export default fp(async function errorsPlugin (app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      if (err.statusCode >= 500) req.log.error({ err }, 'request failed')
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...err.details })
    }
    if (err instanceof Stripe.errors.StripeRateLimitError) {
      // Stripe's own limit, after the SDK's retries: the shared budget leaves room for the workers,
      // so this is a burst Stripe saw first. The client may come back in a moment.
      req.log.warn({ stripeError: { type: err.type, code: err.code, requestId: err.requestId } }, 'stripe rate limit reached')
      return reply.code(429).header('retry-after', '1').send({ error: 'stripe_busy', message: 'Stripe is limiting the rate of requests; retry in 1 s', request_id: err.requestId ?? null })
    }
    if (err instanceof Stripe.errors.StripeError) {
      // Stripe's message is written for API callers and names no internals; its request id lets
      // an operator find the call in Stripe's dashboard.
      req.log.warn({ stripeError: { type: err.type, code: err.code, statusCode: err.statusCode, requestId: err.requestId } }, 'stripe request failed')
      return reply.code(502).send({ error: 'stripe_error', message: err.message, request_id: err.requestId ?? null })
    }
    if ((err as FastifyError).validation) {
      return reply.code(400).send({ error: 'invalid_request', message: err.message })
    }
    const status = (err as FastifyError).statusCode ?? 500
    if (status >= 500) {
      // A Postgres cause (a missing database, say) leads the line instead of hiding behind drizzle's query text.
      req.log.error({ err }, postgresCause(err) ?? 'request failed')
      return reply.code(status).send({ error: 'internal_error', message: 'Internal error' })
    }
    return reply.code(status).send({ error: codeByStatus[status] ?? 'bad_request', message: err.message })
  })
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not_found', message: `Route ${req.method} ${req.url.split('?')[0]} not found` })
  })
}, { name: 'errors' })
