import type { Job, Queue, Worker } from 'bullmq'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { QUEUES, type StripeEventJob } from '../queue/policy.js'
import type { RedisClient } from '../queue/connections.js'
import { usageLedgerBacklog } from '../queue/usage-ledger-drain.js'

export interface MetricsDeps {
  queues: Queue[]
  /** Shared by every api replica: the time of the last verified webhook lives here. */
  redis: RedisClient
  prefix: string
  /** When the oldest unsent outbox row was written (null: none); workers read it from Postgres at scrape time. */
  oldestPendingEmail?: () => Promise<Date | null>
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const

export const lastWebhookKey = (prefix: string) => `${prefix}:metrics:last-webhook-at`

/**
 * Tollgate's Prometheus metrics. Each process (every api replica, every worker process) builds its
 * own registry and is scraped on its own, so a scaled fleet shows up instance by instance; counters
 * are per process and are summed in PromQL. Queue depths and the last-webhook time are read from
 * Redis at scrape time, so every process reports the same shared values.
 */
export function createMetrics (deps: MetricsDeps) {
  const registry = new Registry()
  const registers = [registry]
  collectDefaultMetrics({ register: registry })

  const httpDuration = new Histogram({
    name: 'tollgate_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern and status (the _count series counts requests)',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers
  })

  new Gauge({
    name: 'tollgate_queue_jobs',
    help: 'Jobs in each queue by state, read from Redis at scrape time (failed = the dead-letter queue)',
    labelNames: ['queue', 'state'],
    registers,
    async collect () {
      this.reset()
      for (const queue of deps.queues) {
        // A Redis outage must not fail the whole scrape: the series go missing, which alerts too.
        const counts = await queue.getJobCounts(...QUEUE_STATES).catch(() => null)
        if (!counts) continue
        for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0)
      }
    }
  })

  new Gauge({
    name: 'tollgate_usage_ledger_backlog',
    help: 'Counted usage waiting in the Redis streams for the drain into the Postgres ledger, read at scrape time; should stay near zero',
    registers,
    async collect () {
      const n = await usageLedgerBacklog(deps).catch(() => null)
      if (n !== null) this.set(n)
    }
  })

  const jobsCompleted = new Counter({ name: 'tollgate_jobs_completed_total', help: 'Jobs finished by this worker process, by queue and job type (the Stripe event type on stripe-events)', labelNames: ['queue', 'type'], registers })
  const jobsFailed = new Counter({ name: 'tollgate_jobs_failed_total', help: 'Failed job attempts by queue and type; final="true" when the job went to the failed set', labelNames: ['queue', 'type', 'final'], registers })
  const eventOutcomes = new Counter({ name: 'tollgate_stripe_events_total', help: 'Stripe events processed by outcome (applied, ignored, duplicate)', labelNames: ['type', 'outcome'], registers })
  const eventLag = new Histogram({
    name: 'tollgate_event_lag_seconds',
    help: "Seconds from an event's Stripe created time to its application",
    labelNames: ['type'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600],
    registers
  })
  const emailsSent = new Counter({ name: 'tollgate_emails_sent_total', help: 'Lifecycle emails sent', registers })
  const emailsFailed = new Counter({ name: 'tollgate_emails_failed_total', help: 'Lifecycle emails given up on (in the failed set of the email queue)', registers })
  const webhooks = new Counter({ name: 'tollgate_webhooks_received_total', help: 'Verified webhooks queued by this api process, by event type', labelNames: ['type'], registers })

  let lastWebhookWritten = 0
  const lastWebhookAt = async () => Number(await deps.redis.get(lastWebhookKey(deps.prefix)).catch(() => null)) || null
  new Gauge({
    name: 'tollgate_last_webhook_timestamp_seconds',
    help: 'Unix time of the last verified webhook seen by any api replica (0: none yet)',
    registers,
    async collect () { this.set(await lastWebhookAt() ?? 0) }
  })
  new Gauge({
    name: 'tollgate_seconds_since_last_webhook',
    help: 'Seconds since any api replica last queued a verified webhook (-1: none yet); alert when Stripe stops delivering',
    registers,
    async collect () {
      const at = await lastWebhookAt()
      this.set(at === null ? -1 : Math.max(0, Date.now() / 1000 - at))
    }
  })

  const oldestPendingEmail = deps.oldestPendingEmail
  if (oldestPendingEmail) {
    new Gauge({
      name: 'tollgate_email_oldest_pending_seconds',
      help: 'Age of the oldest lifecycle email not sent yet (0: none waits); alert when it passes a few minutes',
      registers,
      async collect () {
        // A Postgres outage must not fail the whole scrape: the age is unknown (NaN) until it answers.
        const at = await oldestPendingEmail().catch(() => undefined)
        this.set(at === undefined ? NaN : at === null ? 0 : Math.max(0, Date.now() - at.getTime()) / 1000)
      }
    })
  }

  function onCompleted (queue: string, job: Job, result: unknown) {
    jobsCompleted.inc({ queue, type: job.name })
    if (queue === QUEUES.email) emailsSent.inc()
    const event = (job.data as Partial<StripeEventJob>).event
    // The reconciliation sweep shares the stripe-events queue and carries no event.
    if (queue !== QUEUES.stripeEvents || !event) return
    const outcome = (result as { outcome?: string } | undefined)?.outcome ?? 'unknown'
    eventOutcomes.inc({ type: event.type, outcome })
    if (outcome === 'applied') eventLag.observe({ type: event.type }, Math.max(0, (job.finishedOn ?? Date.now()) / 1000 - event.created))
  }

  function onFailed (queue: string, job: Job | undefined, err: Error) {
    if (!job) return
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1)
    jobsFailed.inc({ queue, type: job.name, final: String(final) })
    if (final && queue === QUEUES.email) emailsFailed.inc()
  }

  return {
    registry,
    /** Times one HTTP request; `route` is the route pattern, never the raw URL (bounded label values). */
    observeRequest (method: string, route: string, statusCode: number, seconds: number) {
      httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds)
    },
    /** A verified webhook was queued: counted here, and its time shared with every replica through Redis. */
    webhookQueued (type: string) {
      webhooks.inc({ type })
      // The shared time has one-second resolution: one write per second per replica, not one per
      // webhook (a Redis write per webhook cost the api ~7% of its CPU under load, per the bench profile).
      const now = Math.floor(Date.now() / 1000)
      if (now === lastWebhookWritten) return
      lastWebhookWritten = now
      deps.redis.set(lastWebhookKey(deps.prefix), String(now)).catch(() => {})
    },
    /** Counts a worker's jobs as they finish. */
    instrumentWorker (worker: Worker) {
      worker.on('completed', (job, result) => onCompleted(worker.name, job, result))
      worker.on('failed', (job, err) => onFailed(worker.name, job, err))
    }
  }
}

export type Metrics = ReturnType<typeof createMetrics>
