import { Type, type TSchema } from 'typebox'
import { PRODUCT_EVENT_TYPES } from '../billing/product-events.js'

/** The events Tollgate sends to the product, for the OpenAPI 3.1 `webhooks` section. */
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])

export const EventEntitlement = Type.Object({
  plan_id: Nullable(Type.String()),
  status: Type.String({ description: "The subscription's Stripe status, or none" }),
  access: Type.Boolean(),
  access_until: Nullable(Type.Integer({ description: 'Unix seconds access ends at unless renewed (a grace period, a cancellation at period end)' })),
  features: Type.Record(Type.String(), Type.Boolean()),
  limits: Type.Record(Type.String(), Type.Number()),
  current_period_end: Nullable(Type.Integer()),
  cancel_at_period_end: Type.Boolean()
})

const DATA: Record<typeof PRODUCT_EVENT_TYPES[number], { summary: string, extra: Record<string, TSchema> }> = {
  'entitlement.updated': {
    summary: 'Access, plan, status, features, limits or a cancellation at period end changed',
    extra: { changed: Type.Array(Type.String()), previous: EventEntitlement }
  },
  'checkout.completed': { summary: 'A checkout session completed (paid)', extra: { checkout: Type.Object({ session_id: Type.String(), plan_id: Type.String() }) } },
  'subscription.past_due': { summary: 'A renewal failed: access holds until access_until (the grace period)', extra: {} },
  'trial.will_end': {
    summary: 'A trial ends in 3 days (once per trial)',
    extra: { trial_end: Nullable(Type.Integer({ description: 'Unix seconds' })), has_card: Type.Boolean({ description: 'Whether a card is on file to charge at trial_end' }) }
  },
  'usage.threshold_reached': {
    summary: 'Usage of a metered limit reached 80 % or 100 % of the included amount (once per period and threshold)',
    extra: {
      metric: Type.String(),
      threshold: Type.Union([Type.Literal(80), Type.Literal(100)]),
      used: Nullable(Type.Integer({ description: 'The count that reached it' })),
      limit: Type.Integer(),
      resets_at: Nullable(Type.Integer({ description: 'Unix seconds the window resets at, when known' }))
    }
  },
  'plan_change.scheduled': {
    summary: 'The change pending at the period end was scheduled, replaced, or is gone (null: canceled or taken effect)',
    extra: { pending_change: Nullable(Type.Object({ plan_id: Nullable(Type.String()), at: Type.Integer({ description: 'Unix seconds it takes effect at' }) })) }
  }
}

const HEADERS = {
  'webhook-id': { required: true, schema: { type: 'string' }, description: 'msg_…: the same on every retry and replay of one event; deduplicate on it' },
  'webhook-timestamp': { required: true, schema: { type: 'string' }, description: 'Unix seconds of this attempt' },
  'webhook-signature': { required: true, schema: { type: 'string' }, description: 'v1,<base64 HMAC-SHA256>, several separated by spaces while a secret rotates' }
}

export const productEventWebhooks = Object.fromEntries(PRODUCT_EVENT_TYPES.map(type => [type, {
  post: {
    summary: DATA[type].summary,
    description: 'Standard Webhooks (https://www.standardwebhooks.com/): verify with a standardwebhooks library and the endpoint\'s whsec_ secret. Answer 2xx; anything else is retried with backoff, each user\'s events in order.',
    parameters: Object.entries(HEADERS).map(([name, h]) => ({ in: 'header' as const, name, ...h })),
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: Type.Object({
            type: Type.Literal(type),
            timestamp: Type.String({ description: 'ISO 8601: the Stripe time of the change' }),
            data: Type.Object({ user_id: Type.String(), entitlement: EventEntitlement, ...DATA[type].extra })
          })
        }
      }
    },
    responses: { 204: { description: 'Received' } }
  }
}]))
