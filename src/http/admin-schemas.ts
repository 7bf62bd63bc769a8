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

export const ProductEndpoint = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  source: Type.Union([Type.Literal('config'), Type.Literal('admin'), Type.Literal('retired')], { description: 'config: from PRODUCT_WEBHOOK_URL (its secrets rotate there); retired: dropped from it, gets no new events' }),
  enabled: Type.Boolean(),
  failure_run: Type.Integer({ description: 'Failed attempts since the last success' }),
  disabled_at: IsoTime,
  secrets: Type.Integer({ description: 'How many secrets sign each delivery (2 while a rotation is under way); never the secrets themselves' })
})

export const ProductEndpointWithSecret = Type.Object({
  endpoint: ProductEndpoint,
  secret: Type.String({ description: 'The new signing secret (whsec_…), shown this once' })
})

export const SigningSecret = Type.String({ pattern: '^whsec_[A-Za-z0-9+/]{32,}={0,2}$', description: 'whsec_ and base64 of at least 24 bytes; omitted: Tollgate makes one' })

export const DeliveryAttempt = Type.Object({
  id: Type.Integer(),
  endpoint_id: Type.Integer(),
  event_id: Type.String(),
  webhook_id: Type.String(),
  type: Type.String(),
  user_id: Type.String(),
  seq: Type.Integer(),
  attempt: Type.Integer(),
  status: Nullable(Type.Integer({ description: 'HTTP status; null when no answer came' })),
  ok: Type.Boolean(),
  latency_ms: Type.Integer(),
  response: Nullable(Type.String({ description: 'The first 512 bytes of the answer, or the network error' })),
  at: Type.String()
})

export const ReplayedProductEvents = Type.Object({
  events: Type.Integer({ description: 'Events set to be sent again' }),
  users: Type.Integer(),
  queued: Type.Integer({ description: 'Deliveries queued now; the rest follow each user\'s order' })
})
