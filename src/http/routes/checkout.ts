import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { createCheckoutStatus } from '../../billing/use-cases/checkout-status.js'
import { throttleCheckoutStatus } from '../../billing/use-cases/checkout-status-throttle.js'
import { createCheckout } from '../../billing/use-cases/create-checkout.js'
import type { Deps } from '../../deps.js'
import { applyDepsOf } from '../../queue/apply-ports.js'
import { AlreadySubscribed, CheckoutCreated, CheckoutStatus, CreateCheckoutBody, SessionId } from '../api-schemas.js'
import { ErrorBody } from '../schemas.js'

const security = [{ bearerAuth: [] }]

export default async function checkoutRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireApiKey)
  const checkoutStatus = throttleCheckoutStatus({ db: deps.db, redis: deps.redis, prefix: deps.config.QUEUE_PREFIX }, createCheckoutStatus(applyDepsOf(deps)))

  app.post('/api/v1/create-checkout', {
    config: { rateLimit: app.rateLimits.user },
    // At worst: the user's subscriptions, the promotion code if one is given and a price on a cold
    // cache; their customer and the session.
    preHandler: app.stripeBudget(req => ({ reads: (req.body as { promotion_code?: string }).promotion_code ? 3 : 2, writes: 2 })),
    schema: {
      tags: ['checkout'],
      summary: 'Start a Stripe Checkout for a plan',
      security,
      body: CreateCheckoutBody,
      response: { 200: CheckoutCreated, 400: ErrorBody, 401: ErrorBody, 409: AlreadySubscribed, 415: ErrorBody, 429: ErrorBody, 502: ErrorBody, 503: ErrorBody }
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
  }, async (req, reply) => {
    // A read costs the session, its completion event and, when it provisions, the subscription.
    return await checkoutStatus(req.params.session_id, () => app.takeStripeBudget({ reads: 3, writes: 0 }, reply))
  })
}
