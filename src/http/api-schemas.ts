import { Type, type TSchema } from 'typebox'
import { MAX_QUANTITY } from '../billing/usage.js'
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
  })),
  promotion_code: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'A promotion code the customer typed, applied to the subscription (400 invalid_promotion_code when unknown, inactive or expired)' }))
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

const PendingChange = Type.Union([Type.Object({
  plan_id: Type.Union([Type.String(), Type.Null()], { description: 'The plan from then on (null: a price outside the catalogue)' }),
  at: Type.Integer({ description: 'The period boundary it takes effect at (unix seconds); the current plan holds until then' })
}), Type.Null()], { description: 'A plan change scheduled for the end of the period (a Stripe subscription schedule)' })

const Metric = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$', description: 'A limit the catalogue meters, e.g. requests_per_month' })

export const UsageBody = Type.Object({
  user_id: UserId,
  metric: Metric,
  quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_QUANTITY, default: 1, description: 'Whole units to count' })),
  idempotency_key: Type.Optional(Type.String({ pattern: '^[\\x21-\\x7e]{1,255}$', description: 'The same key (per user) within 24 hours counts once and answers as the first time' }))
}, { additionalProperties: false })

export const RecordBody = Type.Object({
  ...UsageBody.properties,
  quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY, description: 'Whole units that were used' })
}, { additionalProperties: false })

const Nullable = <T extends TSchema>(t: T, description: string) => Type.Union([t, Type.Null()], { description })

export const UsageLine = Type.Object({
  used: Type.Integer({ description: 'Counted this billing period' }),
  limit: Nullable(Type.Integer(), "The plan's included amount; null when nothing may be counted"),
  remaining: Nullable(Type.Integer(), 'limit - used, never below 0'),
  resets_at: Nullable(Type.Integer(), 'Unix seconds when the period renews; null when not known yet (the renewal is on its way)')
}, { additionalProperties: false })

export const UsageAnswer = Type.Object({
  allowed: Type.Boolean({ description: 'false: nothing was counted' }),
  metric: Type.String(),
  ...UsageLine.properties,
  reason: Type.Optional(Type.Union([Type.Literal('no_access'), Type.Literal('not_in_plan'), Type.Literal('limit_reached')], {
    description: 'Why nothing was counted: the user has no access, their plan does not meter this metric, or a hard limit would be passed'
  }))
}, { additionalProperties: false })

export const UsageByMetric = Type.Record(Type.String(), UsageLine, { description: "Every limit the user's plan meters; empty without access" })

export const UserUsage = Type.Object({ user_id: Type.String(), usage: UsageByMetric }, { additionalProperties: false })

export const Entitlement = Type.Object({
  user_id: Type.String(),
  plan_id: Type.Union([Type.String(), Type.Null()]),
  status: Type.String({ description: "The subscription's Stripe status, or none" }),
  access: Type.Boolean(),
  features: Type.Record(Type.String(), Type.Boolean()),
  limits: Type.Record(Type.String(), Type.Number()),
  current_period_end: UnixTime,
  cancel_at_period_end: Type.Boolean(),
  trial_end: Type.Union([Type.Integer(), Type.Null()], { description: 'While trialing: when the trial ends (unix seconds); without a card, access ends then' }),
  pending_change: PendingChange,
  discount: Type.Union([Type.Object({
    percent_off: Type.Union([Type.Number(), Type.Null()]),
    amount_off: Type.Union([Type.Integer(), Type.Null()], { description: 'Smallest currency unit' }),
    currency: Type.Union([Type.String(), Type.Null()]),
    ends_at: Type.Union([Type.Integer(), Type.Null()], { description: 'Unix seconds; null: for as long as the subscription runs' })
  }), Type.Null()], { description: "The subscription's discount (a promotion code or coupon)" }),
  usage: UsageByMetric
}, { additionalProperties: false })

export const ChangePlanBody = Type.Object({
  user_id: UserId,
  plan_id: PlanId,
  when: Type.Optional(Type.Union([Type.Literal('now'), Type.Literal('period_end')], {
    description: 'now: prorated at once; period_end: at the end of the current period (a subscription schedule). Default: upgrades now, downgrades as DOWNGRADE_AT says'
  }))
}, { additionalProperties: false })
export const CancelBody = Type.Object({
  user_id: UserId,
  at_period_end: Type.Optional(Type.Boolean({ default: true, description: 'false cancels now' }))
}, { additionalProperties: false })
export const UserBody = Type.Object({ user_id: UserId }, { additionalProperties: false })

export const SubscriptionState = Type.Object({
  user_id: Type.String(),
  subscription_id: Type.String(),
  plan_id: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  current_period_end: UnixTime,
  cancel_at_period_end: Type.Boolean(),
  cancel_at: UnixTime,
  pending_change: PendingChange
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
