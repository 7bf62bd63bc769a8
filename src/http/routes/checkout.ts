import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { createCheckoutStatus } from '../../billing/use-cases/checkout-status.js'
import { createCheckout } from '../../billing/use-cases/create-checkout.js'
import type { Deps } from '../../deps.js'
import { applyDepsOf } from '../../queue/apply-ports.js'
import { CheckoutCreated, CheckoutStatus, CreateCheckoutBody, SessionId } from '../api-schemas.js'
import { ErrorBody } from '../schemas.js'

const security = [{ bearerAuth: [] }]

export default async function checkoutRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireApiKey)
  const checkoutStatus = createCheckoutStatus(applyDepsOf(deps))

  app.post('/api/v1/create-checkout', {
    config: { rateLimit: app.rateLimits.stripe },
    schema: {
      tags: ['checkout'],
      summary: 'Start a Stripe Checkout for a plan',
      security,
      body: CreateCheckoutBody,
      response: { 200: CheckoutCreated, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody, 415: ErrorBody, 429: ErrorBody, 502: ErrorBody, 503: ErrorBody }
    }
  }, async req => await createCheckout(deps, req.body))

  app.get('/api/v1/checkout/:session_id', {
    config: { rateLimit: app.rateLimits.read },
    schema: {
      tags: ['checkout'],
      summary: 'Status of a Checkout session and whether its user is provisioned',
      security,
      params: Type.Object({ session_id: SessionId }),
      response: { 200: CheckoutStatus, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 502: ErrorBody }
    }
  }, async req => await checkoutStatus(req.params.session_id))
}
