import type { Job, Processor, Queue } from 'bullmq'
import { reconcileSweep, type ReconcileDeps } from '../../billing/use-cases/reconcile-events.js'
import type { Deps } from '../../deps.js'
import { scheduleEvery } from '../schedule.js'

/**
 * The reconciliation sweep runs as a job named `reconcile` on the stripe-events queue: it is about
 * Stripe events, every deployment runs that queue's workers, and the job scheduler makes one sweep
 * per interval however many worker processes there are. No Stripe event type is named `reconcile`
 * (theirs contain dots), so the name routes it.
 */
export const RECONCILE_JOB = 'reconcile'

export function withReconcileSweep (deps: ReconcileDeps & Pick<Deps, 'redis' | 'config'>, processEvent: Processor): Processor {
  return async (job: Job, token?: string) => job.name === RECONCILE_JOB
    ? reconcileSweep(deps, { redis: deps.redis, prefix: deps.config.QUEUE_PREFIX })
    : processEvent(job, token)
}

/** Idempotent across worker processes: they all upsert the same scheduler at start. */
export async function scheduleReconcile (queue: Queue, everySeconds: number): Promise<void> {
  await scheduleEvery(queue, RECONCILE_JOB, everySeconds, {
    name: RECONCILE_JOB,
    data: {},
    // A failed sweep is repaired by the next one; the event policy's long retention is not needed.
    opts: { attempts: 3, backoff: { type: 'exponential', delay: 10_000 }, removeOnComplete: { count: 48 }, removeOnFail: { count: 48 } }
  })
}
