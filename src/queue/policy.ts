import type { JobsOptions } from 'bullmq'

/** Queue names shared by the api (producer) and the workers. */
export const QUEUES = {
  stripeEvents: 'stripe-events',
  email: 'email',
  prices: 'prices',
  productEvents: 'product-events'
} as const
export type QueueName = typeof QUEUES[keyof typeof QUEUES]

const HOUR = 3600
const DAY = 24 * HOUR

/**
 * Job policy, in one place.
 * - Retries: exponential backoff with jitter so a fleet of workers does not retry in lockstep after an outage.
 * - Completed stripe-events jobs are kept past Stripe's 3-day retry window so a redelivery finds its
 *   jobId and is not queued again (the Postgres claim still makes a second run a no-op if it were).
 * - Failed jobs are never removed automatically: the failed set is the dead-letter queue, listed and
 *   replayed by operators.
 */
export const jobPolicy: Record<QueueName, JobsOptions> = {
  'stripe-events': {
    attempts: 12,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: { age: 3 * DAY + 6 * HOUR, count: 500_000 },
    removeOnFail: false
  },
  email: {
    attempts: 20,
    backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
    removeOnComplete: { age: DAY, count: 100_000 },
    removeOnFail: false
  },
  // One job per (endpoint, event), only ever for a user's lowest pending event at that endpoint. The
  // backoff's base delay is PRODUCT_WEBHOOK_RETRY_BASE_MS, given when the job is queued: 15
  // attempts doubling from 15 s reach about 3 days. A finished job leaves at once, so a replay can
  // queue the same id again; the failed set keeps the dead ones a week.
  'product-events': {
    attempts: 15,
    backoff: { type: 'exponential', delay: 15_000, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * DAY }
  },
  prices: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 1000 }
  }
}

export type { StripeEventJob } from '../billing/stripe-event.js'

/**
 * Email jobs name an outbox row only: addresses and contents stay in Postgres. `key` is the row's
 * random job key (absent on jobs queued before rows had one).
 */
export interface EmailJob { outboxId: number, key?: string }

/** A product event delivery names its endpoint and event only: the body stays in Postgres. */
export interface ProductEventJob { endpointId: number, eventId: string }
