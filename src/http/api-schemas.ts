import { Type } from 'typebox'
import { NEXT_STEPS } from '../billing/subscription-status.js'

/**
 * TypeBox schemas of the product API. Request bodies refuse unknown fields, so a client cannot slip
 * in a price, customer, redirect URL or metadata of its own.
 */
export const UserId = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: "Your product's user id" })
export const PlanId = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: 'A plan id from GET /api/v1/plans' })
export const SessionId = Type.String({ pattern: '^cs_[A-Za-z0-9_]{1,250}$', description: 'Stripe Checkout session id' })
const UnixTime = Type.Union([Type.Integer(), Type.Null()], { description: 'Unix seconds, as in Stripe' })

export const CreateCheckoutBody = Type.Object({
  plan_id: PlanId,
  user_id: UserId,
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Prefills Checkout and is used for lifecycle email' })),
  test_clock: Type.Optional(Type.String({
    pattern: '^clock_[A-Za-z0-9]{1,250}$',
    description: 'Test mode only: the Stripe test clock a new user\'s customer is created on, so that their billing and their access move with that clock (refused with a live key, and for a user whose customer exists on another clock)'
  }))
}, { additionalProperties: false })

export const CheckoutCreated = Type.Object({
  checkout_url: Type.String({ description: 'Send the customer here' }),
  session_id: SessionId
})

export const AlreadySubscribed = Type.Object({
  error: Type.Literal('already_subscribed'),
  message: Type.String({ description: 'Names the subscription and what to do instead of a second checkout' }),
  subscription_id: Type.String(),
  subscription_status: Type.String({ description: "The subscription's Stripe status" }),
  next_step: Type.Union(NEXT_STEPS.map(s => Type.Literal(s))),
  hosted_invoice_url: Type.Union([Type.String(), Type.Null()], { description: "Stripe's payment page of the open invoice, when paying it is the way" })
})

export const CheckoutStatus = Type.Object({
  session_id: Type.String(),
  status: Type.String({ description: 'open, payment_pending (an asynchronous payment such as a bank debit is on its way), complete, payment_failed or expired' }),
  user_id: Type.String(),
  plan_id: Type.Union([Type.String(), Type.Null()]),
  provisioned: Type.Boolean({ description: 'The checkout is complete and the user has access now' })
})

export const Entitlement = Type.Object({
  user_id: Type.String(),
  plan_id: Type.Union([Type.String(), Type.Null()]),
  status: Type.String({ description: "The subscription's Stripe status, or none" }),
  access: Type.Boolean(),
  features: Type.Record(Type.String(), Type.Boolean()),
  limits: Type.Record(Type.String(), Type.Number()),
  current_period_end: UnixTime,
  cancel_at_period_end: Type.Boolean()
}, { additionalProperties: false })

export const ChangePlanBody = Type.Object({ user_id: UserId, plan_id: PlanId }, { additionalProperties: false })
export const CancelBody = Type.Object({
  user_id: UserId,
  at_period_end: Type.Boolean({ default: true, description: 'false cancels now' })
}, { additionalProperties: false })
export const UserBody = Type.Object({ user_id: UserId }, { additionalProperties: false })

export const SubscriptionState = Type.Object({
  user_id: Type.String(),
  subscription_id: Type.String(),
  plan_id: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  current_period_end: UnixTime,
  cancel_at_period_end: Type.Boolean(),
  cancel_at: UnixTime
})

export const PortalSession = Type.Object({ url: Type.String() })

export const PlanList = Type.Object({
  currency: Type.String(),
  plans: Type.Array(Type.Object({
    id: Type.String(),
    name: Type.String(),
    unit_amount: Type.Union([Type.Integer(), Type.Null()], { description: 'Smallest currency unit, from Stripe' }),
    currency: Type.String(),
    interval: Type.String(),
    features: Type.Record(Type.String(), Type.Boolean()),
    limits: Type.Record(Type.String(), Type.Number())
  }))
})
