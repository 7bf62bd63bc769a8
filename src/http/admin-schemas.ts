import { Type } from 'typebox'

/** TypeBox schemas of the admin API (bearer ADMIN_TOKEN); snake_case like the product API. */
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
export const IsoTime = Nullable(Type.String({ description: 'ISO 8601 time' }))
export const EventId = Type.String({ pattern: '^[A-Za-z0-9_]{1,255}$', description: 'A recorded event id (evt_… from Stripe, sync_… from an admin sync)' })
export const QueueName = Type.Union([Type.Literal('stripe-events'), Type.Literal('email'), Type.Literal('prices'), Type.Literal('product-events')])
export const Outcome = Type.Union([Type.Literal('applied'), Type.Literal('ignored'), Type.Literal('failed')])

export const EventSummary = Type.Object({
  event_id: Type.String(),
  type: Type.String(),
  created: Type.Integer({ description: "Stripe's created, unix seconds" }),
  received_at: IsoTime,
  processed_at: IsoTime,
  outcome: Type.String(),
  user_id: Nullable(Type.String()),
  error: Nullable(Type.String({ description: 'Why it failed, or why it was ignored' }))
})

export const EventList = Type.Object({ data: Type.Array(EventSummary), has_more: Type.Boolean() })

export const ReplayAnswer = Type.Object({
  event_id: Type.String(),
  job_id: Type.String(),
  via: Type.Union([Type.Literal('retried'), Type.Literal('enqueued')]),
  outcome_before: Type.String()
})

export const FailedJob = Type.Object({
  queue: Type.String(),
  job_id: Type.String(),
  name: Type.String(),
  failed_reason: Type.String(),
  attempts_made: Type.Integer(),
  failed_at: Nullable(Type.Integer({ description: 'Unix milliseconds' }))
})

export const SyncAnswer = Type.Object({
  user_id: Type.String(),
  customer_id: Type.String(),
  subscriptions: Type.Array(Type.Object({ subscription_id: Type.String(), status: Type.String(), outcome: Type.String() }))
})

export const TimelineEntry = Type.Object({
  at: Type.String({ description: "ISO 8601, Stripe time where the entry has one (an event's created, an email's event's), else host time; entries sort by it" }),
  clock: Type.Union([Type.Literal('stripe'), Type.Literal('host')], { description: 'Which clock `at` is read from' }),
  host_at: Type.String({ description: 'ISO 8601 host time: when the event was received, or the email written to the outbox' }),
  kind: Type.Union([Type.Literal('event'), Type.Literal('email')]),
  summary: Type.String({ description: 'One line for a human' }),
  event_id: Nullable(Type.String()),
  type: Nullable(Type.String()),
  outcome: Nullable(Type.String()),
  detail: Type.Record(Type.String(), Type.Unknown())
})

export const Timeline = Type.Object({
  user_id: Type.String(),
  customer_id: Nullable(Type.String()),
  entries: Type.Array(TimelineEntry),
  current: Type.Object({
    entitlement: Nullable(Type.Record(Type.String(), Type.Unknown())),
    subscriptions: Type.Array(Type.Record(Type.String(), Type.Unknown()))
  })
})
