import type { JobsOptions } from 'bullmq'

/** Queue names shared by the api (producer) and the workers. */
export const QUEUES = {
  stripeEvents: 'stripe-events',
  email: 'email',
  prices: 'prices'
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
