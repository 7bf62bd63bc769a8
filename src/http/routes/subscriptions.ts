import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { billingPortal } from '../../billing/use-cases/billing-portal.js'
import { cancelSubscription, resumeSubscription } from '../../billing/use-cases/cancel-subscription.js'
import { cancelPendingChange, changePlan } from '../../billing/use-cases/change-plan.js'
import type { Deps } from '../../deps.js'
import { CancelBody, ChangePlanBody, PortalSession, SubscriptionState, UserBody } from '../api-schemas.js'
import { ErrorBody } from '../schemas.js'

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 415: ErrorBody, 429: ErrorBody, 502: ErrorBody }

/** Commands on a user's subscription; each answers Stripe's new state once Stripe has accepted it. */
export default async function subscriptionRoutes (base: FastifyInstance, { deps }: { deps: Deps }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireApiKey)
  const common = { config: { rateLimit: app.rateLimits.user } }
  const schema = { tags: ['subscriptions'], security: [{ bearerAuth: [] }] }

  app.post('/api/v1/subscriptions/change-plan', {
    ...common,
    // The user's subscriptions, the price on a cold cache, the schedule and the answer; at most a
    // release and an update, or a schedule's creation and update.
    preHandler: app.stripeBudget({ reads: 4, writes: 2 }),
    schema: { ...schema, summary: 'Upgrade or downgrade: now (prorated) or at period end', body: ChangePlanBody, response: { 200: SubscriptionState, ...errors, 503: ErrorBody } }
  }, async req => await changePlan(deps, req.body.user_id, req.body.plan_id, req.body.when))

  app.post('/api/v1/subscriptions/cancel-pending-change', {
    ...common,
    preHandler: app.stripeBudget({ reads: 2, writes: 1 }),
    schema: { ...schema, summary: 'Drop a plan change scheduled for period end', body: UserBody, response: { 200: SubscriptionState, ...errors } }
  }, async req => await cancelPendingChange(deps, req.body.user_id))

  app.post('/api/v1/subscriptions/cancel', {
    ...common,
    preHandler: app.stripeBudget({ reads: 1, writes: 2 }),
    schema: { ...schema, summary: 'Cancel at period end (default) or now', body: CancelBody, response: { 200: SubscriptionState, ...errors } }
  }, async req => await cancelSubscription(deps, req.body.user_id, req.body.at_period_end ?? true))

  app.post('/api/v1/subscriptions/resume', {
    ...common,
    preHandler: app.stripeBudget({ reads: 1, writes: 1 }),
    schema: { ...schema, summary: 'Undo a cancellation scheduled for period end', body: UserBody, response: { 200: SubscriptionState, ...errors } }
  }, async req => await resumeSubscription(deps, req.body.user_id))

  app.post('/api/v1/billing-portal', {
    ...common,
    preHandler: app.stripeBudget({ reads: 0, writes: 1 }),
    schema: { tags: ['billing-portal'], security: schema.security, summary: 'A Stripe customer portal link', body: UserBody, response: { 200: PortalSession, ...errors } }
  }, async req => await billingPortal(deps, req.body.user_id))
}
