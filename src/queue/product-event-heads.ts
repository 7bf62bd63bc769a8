import type { Queue } from 'bullmq'
import type { Config } from '../config/index.js'
import { deliveryHeads, type DeliveryHead } from '../db/product-deliveries-repo.js'
import type { Db } from '../db/client.js'
import type { ProductEventJob } from './policy.js'

export const productDeliveryJobId = (h: Pick<DeliveryHead, 'endpointId' | 'eventId'>) => `pe-${h.endpointId}-${h.eventId}`

export interface HeadDeps { db: Db, queue: Queue, config: Pick<Config, 'PRODUCT_WEBHOOK_RETRY_BASE_MS'> }

/** Longer than a running delivery can take: the endpoint's 10 s, and the writes after it. */
const ACTIVE_WAIT_MS = 20_000

/**
 * Queues a delivery job for each head: a user's lowest pending event at an endpoint. Only heads are
 * queued, so a user's later event waits while an earlier one is retried, and other users' heads
 * flow. A job still waiting, delayed or running is left alone (its id is taken); a finished one
 * whose delivery is pending again (a replay, an endpoint enabled again) is replaced.
 *
 * `afterRunning`: a running job may be past the point where it looks at its delivery (it sent the
 * event or found the endpoint disabled), so a delivery made pending again since would wait for the
 * sweep; a replay or an enable waits for such a job to finish instead, then queues the head again.
 */
export async function queueHeads (deps: HeadDeps, heads: DeliveryHead[], opts: { afterRunning?: boolean } = {}): Promise<number> {
  let queued = 0
  for (const head of heads) {
    const jobId = productDeliveryJobId(head)
    const job = await deps.queue.getJob(jobId)
    if (job) {
      let state = await job.getState()
      for (const deadline = Date.now() + ACTIVE_WAIT_MS; opts.afterRunning && state === 'active' && Date.now() < deadline;) {
        await new Promise(resolve => setTimeout(resolve, 50))
        state = await job.getState()
      }
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue
      await job.remove().catch(() => {})
    }
    const data: ProductEventJob = { endpointId: head.endpointId, eventId: head.eventId }
    await deps.queue.add('deliver', data, { jobId, backoff: { type: 'exponential', delay: deps.config.PRODUCT_WEBHOOK_RETRY_BASE_MS, jitter: 0.5 } })
    queued++
  }
  return queued
}

/** After a change committed, or a delivery settled: the next events of these users go. */
export async function queueHeadsOf (deps: HeadDeps, userIds: string[], endpointId?: number): Promise<number> {
  if (userIds.length === 0) return 0
  return await queueHeads(deps, await deliveryHeads(deps.db, { userIds, endpointId }))
}

/** An endpoint enabled again, or events replayed to it: every user's lowest pending event there goes. */
export async function resumeEndpoint (deps: HeadDeps, endpointId?: number): Promise<number> {
  return await queueHeads(deps, await deliveryHeads(deps.db, { endpointId }), { afterRunning: true })
}
