import { sql } from 'drizzle-orm'
import type { Discount, PaymentState, PendingChange } from '../billing/apply-records.js'
import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, bigserial, uuid } from 'drizzle-orm/pg-core'

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow()

export const customers = pgTable('customers', {
  userId: text('user_id').primaryKey(),
  /** Unique: creating a customer binds it with Stripe's idempotency key and this constraint, no lock. */
  stripeCustomerId: text('stripe_customer_id').unique(),
  email: text('email'),
  /** The Stripe test clock the customer lives on: that user's access is decided in its time. */
  testClockId: text('test_clock_id'),
  /** Stripe time (seconds) the email is as of: an older `customer.updated` never overwrites a newer one. */
  stripeTime: bigint('stripe_time', { mode: 'number' }),
  createdAt: createdAt()
}, t => [index('customers_test_clock_idx').on(t.testClockId).where(sql`test_clock_id is not null`)])

/** Stripe test clocks Tollgate's customers live on, with the time each stands at. */
export const testClocks = pgTable('test_clocks', {
  id: text('id').primaryKey(),
  /** Only grows: a test clock only moves forward. */
  frozenTime: bigint('frozen_time', { mode: 'number' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
})

export const subscriptions = pgTable('subscriptions', {
  stripeSubscriptionId: text('stripe_subscription_id').primaryKey(),
  userId: text('user_id').notNull(),
  stripeCustomerId: text('stripe_customer_id').notNull(),
  planId: text('plan_id'),
  priceId: text('price_id'),
  status: text('status').notNull(),
  currentPeriodStart: timestamp('current_period_start', { withTimezone: true }),
  currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
  cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
  /** This subscription's access decision (src/billing/access.ts); the user's entitlement follows one of them. */
  access: boolean('access').notNull().default(false),
  accessUntil: timestamp('access_until', { withTimezone: true }),
  startedAt: timestamp('started_at', { withTimezone: true }),
  endedAt: timestamp('ended_at', { withTimezone: true }),
  /**
   * Stripe time (event `created`, seconds) of the newest event applied. The row itself holds what a
   * re-read from Stripe returned while the subscription was locked, so it is never older than this.
   */
  stripeTime: bigint('stripe_time', { mode: 'number' }).notNull(),
  /**
   * Where its payment stands as its checkout and invoices said (`pending`: an asynchronous payment
   * on its way; `failed`; `paid`), and the Stripe time of that word. Access waits for `paid`.
   */
  paymentState: text('payment_state').$type<PaymentState>(),
  paymentStateAt: bigint('payment_state_at', { mode: 'number' }),
  trialEnd: timestamp('trial_end', { withTimezone: true }),
  /** A plan change a subscription schedule makes at a phase boundary (a downgrade at period end). */
  pendingChange: jsonb('pending_change').$type<PendingChange>(),
  discount: jsonb('discount').$type<Discount>(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
}, t => [index('subscriptions_user_idx').on(t.userId)])

export const entitlements = pgTable('entitlements', {
  userId: text('user_id').primaryKey(),
  planId: text('plan_id'),
  stripeSubscriptionId: text('stripe_subscription_id'),
  /** The subscription's Stripe status, or `none`. */
  status: text('status').notNull(),
  /** Access is granted while `access` is true and `access_until` (if set) is in the future. */
  access: boolean('access').notNull(),
  accessUntil: timestamp('access_until', { withTimezone: true }),
  features: jsonb('features').$type<Record<string, boolean>>().notNull().default({}),
  limits: jsonb('limits').$type<Record<string, number>>().notNull().default({}),
  currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
  cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
  trialEnd: timestamp('trial_end', { withTimezone: true }),
  pendingChange: jsonb('pending_change').$type<PendingChange>(),
  discount: jsonb('discount').$type<Discount>(),
  grantedAt: timestamp('granted_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
})

export const stripeEvents = pgTable('stripe_events', {
  eventId: text('event_id').primaryKey(),
  type: text('type').notNull(),
  /** Stripe's `created`, unix seconds. */
  created: bigint('created', { mode: 'number' }).notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  processedAt: timestamp('processed_at', { withTimezone: true }),
  outcome: text('outcome').$type<'applied' | 'ignored' | 'failed'>().notNull(),
  userId: text('user_id'),
  error: text('error'),
  /** The event as queued (personal data stripped); null once the retention policy pruned it (the claim stays). */
  payload: jsonb('payload')
}, t => [
  index('stripe_events_outcome_idx').on(t.outcome, t.receivedAt),
  index('stripe_events_user_idx').on(t.userId, t.created),
  // Only the payloads the retention policy has still to prune: a pruned row leaves the index.
  index('stripe_events_prunable_idx').on(t.receivedAt).where(sql`payload is not null and outcome <> 'failed'`)
])

export const emailOutbox = pgTable('email_outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /**
   * Random per row: the send job's id carries it. Ids restart after a database is restored or
   * re-created under a Redis that still holds the old rows' finished jobs, which would swallow a new
   * row's job as a duplicate; a random key never repeats.
   */
  jobKey: uuid('job_key').notNull().defaultRandom(),
  /** The event that wrote it, or what makes the email one of a kind (a trial's notice: one per trial). */
  eventId: text('event_id').notNull(),
  template: text('template').notNull(),
  userId: text('user_id'),
  to: text('to').notNull(),
  data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  status: text('status').$type<'pending' | 'sent' | 'failed'>().notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  createdAt: createdAt(),
  sentAt: timestamp('sent_at', { withTimezone: true })
}, t => [
  uniqueIndex('email_outbox_event_template_uq').on(t.eventId, t.template),
  index('email_outbox_pending_idx').on(t.status).where(sql`status = 'pending'`),
  index('email_outbox_sent_idx').on(t.sentAt).where(sql`status = 'sent'`)
])

export const checkoutSessions = pgTable('checkout_sessions', {
  sessionId: text('session_id').primaryKey(),
  userId: text('user_id').notNull(),
  planId: text('plan_id').notNull(),
  /** `open`, then `payment_pending` (an asynchronous payment), `complete` or `payment_failed`; or `expired` when a newer session of the user replaced it. */
  status: text('status').notNull(),
  stripeSubscriptionId: text('stripe_subscription_id'),
  createdAt: createdAt(),
  completedAt: timestamp('completed_at', { withTimezone: true })
}, t => [index('checkout_sessions_user_idx').on(t.userId)])

/**
 * One trial per user, ever: a row is written when a subscription of theirs is first seen with a
 * trial, and is never deleted (not with the subscription, not by retention), so a second checkout
 * of that user, or of their Stripe customer, starts without one.
 */
export const trialClaims = pgTable('trial_claims', {
  userId: text('user_id').primaryKey(),
  stripeCustomerId: text('stripe_customer_id').notNull(),
  stripeSubscriptionId: text('stripe_subscription_id').notNull(),
  trialEnd: timestamp('trial_end', { withTimezone: true }),
  createdAt: createdAt()
}, t => [index('trial_claims_customer_idx').on(t.stripeCustomerId)])

/**
 * Every unit a usage call counted, as the Redis script appended it to its shard's stream: the
 * durable truth counters are rebuilt from. `entry_id` is chosen by the api before counting, so a
 * drain that runs twice writes each entry once.
 */
export const usageLedger = pgTable('usage_ledger', {
  entryId: uuid('entry_id').primaryKey(),
  userId: text('user_id').notNull(),
  metric: text('metric').notNull(),
  /** Unix seconds of the billing period's start, in the customer's clock. */
  windowStart: bigint('window_start', { mode: 'number' }).notNull(),
  quantity: bigint('quantity', { mode: 'number' }).notNull(),
  idempotencyKey: text('idempotency_key'),
  /** When the api counted it (host time); for a folded row, when the newest entry it sums was counted. */
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  /**
   * How many counted entries this row sums once compaction has folded a window's old entries into
   * one row (src/db/usage-ledger-compaction.ts); null for an entry as the api counted it.
   */
  foldedEntries: bigint('folded_entries', { mode: 'number' })
}, t => [
  index('usage_ledger_window_idx').on(t.userId, t.metric, t.windowStart),
  // Compaction's queue: the entries not folded yet, oldest first.
  index('usage_ledger_unfolded_idx').on(t.createdAt).where(sql`folded_entries is null`),
  // Retention's queue: one row per compacted window, oldest window first.
  index('usage_ledger_folded_window_idx').on(t.windowStart).where(sql`folded_entries is not null`)
])

/**
 * Overage reported to Stripe Billing Meters, as a chain per user, metric and window: each report
 * covers the overage from `from_quantity` to `to_quantity`. A report is written (pending) before it is
 * sent and sent under its `identifier`, so a worker that dies in between sends the same event again,
 * which Stripe takes once.
 */
export const usageMeterReports = pgTable('usage_meter_reports', {
  identifier: text('identifier').primaryKey(),
  userId: text('user_id').notNull(),
  metric: text('metric').notNull(),
  windowStart: bigint('window_start', { mode: 'number' }).notNull(),
  fromQuantity: bigint('from_quantity', { mode: 'number' }).notNull(),
  toQuantity: bigint('to_quantity', { mode: 'number' }).notNull(),
  stripeCustomerId: text('stripe_customer_id').notNull(),
  /**
   * The meter event's timestamp (unix seconds, the customer's time), chosen when the report is
   * written, so every send of it is the same event and counts in the window it bills.
   */
  eventTimestamp: bigint('event_timestamp', { mode: 'number' }).notNull(),
  /** `failed`: Stripe refused it for good (its `error` says why); an operator decides what to bill. */
  status: text('status').$type<'pending' | 'sent' | 'failed'>().notNull().default('pending'),
  error: text('error'),
  createdAt: createdAt(),
  sentAt: timestamp('sent_at', { withTimezone: true })
}, t => [
  uniqueIndex('usage_meter_reports_chain_uq').on(t.userId, t.metric, t.windowStart, t.fromQuantity),
  index('usage_meter_reports_pending_idx').on(t.createdAt).where(sql`status = 'pending'`),
  // Retention deletes sent reports with their window.
  index('usage_meter_reports_sent_window_idx').on(t.windowStart).where(sql`status = 'sent'`)
])

/**
 * Where product events go (Standard Webhooks). Rows from PRODUCT_WEBHOOK_URL are kept in step with
 * the config at start (`source = 'config'`; `retired` once the config drops it); an admin adds,
 * disables and rotates the others. Every endpoint but a retired one gets a delivery of each event,
 * so a disabled one finds its events waiting when it is enabled again.
 */
export const productEndpoints = pgTable('product_endpoints', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  url: text('url').notNull().unique(),
  /** `whsec_…` secrets, newest first; every one signs each delivery while a rotation is under way. */
  secrets: jsonb('secrets').$type<string[]>().notNull(),
  source: text('source').$type<'config' | 'admin' | 'retired'>().notNull(),
  enabled: boolean('enabled').notNull().default(true),
  /** Failed attempts since the last success; at PRODUCT_WEBHOOK_MAX_FAILURES the endpoint is disabled. */
  failureRun: integer('failure_run').notNull().default(0),
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
})

/** The outbox of product events, written in the transaction of the change that causes them. */
export const productEvents = pgTable('product_events', {
  /** Random: the delivery's `webhook-id` is `msg_` + this id, the same on every retry and replay. */
  id: uuid('id').primaryKey().defaultRandom(),
  userId: text('user_id').notNull(),
  /** 1, 2, 3 … per user, without gaps: the order the user's events are delivered in. */
  seq: bigint('seq', { mode: 'number' }).notNull(),
  type: text('type').notNull(),
  /** The body as sent: `{ type, timestamp, data }`. */
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  /** Set for an event that may happen once only (a checkout completes once, whichever path saw it). */
  onceKey: text('once_key').unique(),
  createdAt: createdAt()
}, t => [
  uniqueIndex('product_events_user_seq_uq').on(t.userId, t.seq),
  index('product_events_created_idx').on(t.createdAt)
])

/** Where one event stands at one endpoint: a user's lowest pending seq is the only one in flight. */
export const productDeliveries = pgTable('product_deliveries', {
  endpointId: bigint('endpoint_id', { mode: 'number' }).notNull(),
  eventId: uuid('event_id').notNull(),
  userId: text('user_id').notNull(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  status: text('status').$type<'pending' | 'delivered' | 'failed'>().notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  createdAt: createdAt(),
  deliveredAt: timestamp('delivered_at', { withTimezone: true })
}, t => [
  uniqueIndex('product_deliveries_pk').on(t.endpointId, t.eventId),
  index('product_deliveries_pending_idx').on(t.endpointId, t.userId, t.seq).where(sql`status = 'pending'`)
])

/** One row per HTTP attempt, for operators: what the endpoint answered and how fast. */
export const productDeliveryAttempts = pgTable('product_delivery_attempts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  endpointId: bigint('endpoint_id', { mode: 'number' }).notNull(),
  eventId: uuid('event_id').notNull(),
  attempt: integer('attempt').notNull(),
  /** The HTTP status, null when no answer came (timeout, refused connection). */
  status: integer('status'),
  ok: boolean('ok').notNull(),
  latencyMs: integer('latency_ms').notNull(),
  /** The first bytes of the answer, or the network error. */
  response: text('response'),
  at: createdAt()
}, t => [
  index('product_delivery_attempts_event_idx').on(t.eventId),
  index('product_delivery_attempts_at_idx').on(t.at)
])
