import type { Db } from '../../db/client.js'
import { eventById } from '../../db/events-repo.js'
import { AppError } from '../../errors.js'
import type { StripeEventJob } from '../stripe-event.js'
import type { Queues } from '../../queue/queues.js'

export interface ReplayResult {
  event_id: string
  job_id: string
  /** `retried`: the event's own job left the failed set; `enqueued`: a new job from the stored payload. */
  via: 'retried' | 'enqueued'
  outcome_before: string
}

/**
 * Runs a recorded event through the stripe-events worker again. The worker's claim decides what
 * happens: an event recorded as `failed` is claimed again and applied; one already `applied` or
 * `ignored` is a no-op, so replaying twice (or replaying what a retry is about to apply) is safe.
 *
 * When the event's own job (jobId = event id) sits in the failed set it is retried with fresh
 * attempts, which also empties that slot of the dead-letter queue. Otherwise — the job was never
 * kept, or completed — a new job is built from the stored payload under `replay-<event>-<time>`,
 * since the event id itself may still name a kept completed job that BullMQ would deduplicate.
 */
export async function replayEvent (deps: { db: Db, queues: Pick<Queues, 'stripeEvents'> }, eventId: string): Promise<ReplayResult> {
  const row = await eventById(deps.db, eventId)
  if (!row) throw new AppError(404, 'not_found', `No recorded event ${eventId}`)
  const queue = deps.queues.stripeEvents
  const own = await queue.getJob(eventId)
  if (own && await own.isFailed()) {
    await own.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
    return { event_id: eventId, job_id: eventId, via: 'retried', outcome_before: row.outcome }
  }
  // Only applied and ignored events lose their payload to the retention policy; replaying one changes nothing.
  if (row.payload === null) throw new AppError(409, 'payload_pruned', `Event ${eventId} was ${row.outcome} and its payload has been pruned by the retention policy; replaying it would change nothing`)
  const data: StripeEventJob = { event: row.payload as StripeEventJob['event'], receivedAt: row.receivedAt.getTime() }
  const job = await queue.add(row.type, data, { jobId: `replay-${eventId}-${Date.now()}` })
  return { event_id: eventId, job_id: job.id!, via: 'enqueued', outcome_before: row.outcome }
}
