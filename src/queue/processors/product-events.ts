import type { Job, Processor } from 'bullmq'
import type { Logger } from 'pino'
import { deliveryHeads, deliveryTarget, earlierPending, recordAttempt } from '../../db/product-deliveries-repo.js'
import { countFailure, endFailureRun } from '../../db/product-endpoints-repo.js'
import type { Deps } from '../../deps.js'
import { faultPoint } from '../../fault-points.js'
import type { ProductEventJob } from '../policy.js'
import { queueHeads, queueHeadsOf, type HeadDeps } from '../product-event-heads.js'
import { scheduleEvery } from '../schedule.js'
import { sendSigned, type DeliveryOutcome, type SignedDelivery } from '../send-signed.js'

/** The `webhook-id` of an event: the same on every attempt and replay. */
export const webhookIdOf = (eventId: string) => `msg_${eventId}`

export const PRODUCT_SWEEP_JOB = 'product-events-sweep'
/** Older than a healthy worker needs to queue a committed event's head, so the sweep rarely races it. */
const SWEEP_AGE_MS = 60_000

const headDeps = (deps: Pick<Deps, 'db' | 'queues' | 'config'>): HeadDeps => ({ db: deps.db, queue: deps.queues.productEvents, config: deps.config })

/**
 * Delivers one event to one endpoint, when it is the user's lowest pending event there; then
 * queues the user's next one. A failure throws, so BullMQ retries with backoff while the user's
 * later events wait; after the last attempt the delivery is `failed` (replayable) and the next one
 * goes. At-least-once: a worker killed between the endpoint's answer and the record sends it again,
 * with the same `webhook-id`.
 */
export function createProductEventProcessor (deps: Pick<Deps, 'db' | 'queues' | 'config'>, log?: Logger, send: (d: SignedDelivery) => Promise<DeliveryOutcome> = sendSigned) {
  const heads = headDeps(deps)
  return async function deliverProductEvent (job: Job<ProductEventJob>) {
    const t = await deliveryTarget(deps.db, job.data.endpointId, job.data.eventId)
    if (!t) return { outcome: 'skipped' }
    if (!t.enabled) return { outcome: 'endpoint_disabled' }
    if (t.status !== 'pending' || await earlierPending(deps.db, t)) {
      await queueHeadsOf(heads, [t.userId], t.endpointId)
      return { outcome: t.status === 'pending' ? 'waiting' : t.status }
    }
    // BullMQ's count, for when to give up: it also counts a try that failed before it sent.
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
    const result = await send({ url: t.url, secrets: t.secrets, webhookId: webhookIdOf(t.eventId), body: JSON.stringify(t.payload), at: new Date() })
    if (result.ok) await faultPoint('after-product-send', t.eventId)
    await recordAttempt(deps.db, { endpointId: t.endpointId, eventId: t.eventId, ...result }, result.ok ? 'delivered' : last ? 'failed' : null, t.pendingSince)
    if (result.ok) {
      await endFailureRun(deps.db, t.endpointId)
      await queueHeadsOf(heads, [t.userId], t.endpointId)
      return { outcome: 'delivered', status: result.status }
    }
    const disabled = await countFailure(deps.db, t.endpointId, deps.config.PRODUCT_WEBHOOK_MAX_FAILURES)
    if (disabled) log?.warn({ endpointId: t.endpointId, maxFailures: deps.config.PRODUCT_WEBHOOK_MAX_FAILURES }, 'product endpoint disabled after a run of failed deliveries; enable it with POST /admin/product-endpoints/:id/enable')
    if (last) await queueHeadsOf(heads, [t.userId], t.endpointId)
    if (disabled) return { outcome: 'endpoint_disabled' }
    throw new Error(result.status === null ? `delivery failed: ${result.response ?? 'no answer'}` : `endpoint answered ${result.status}`)
  }
}

/**
 * The sweep runs on the product-events queue: heads are queued after commit, so a crash before that
 * (or a Redis that lost the job) would leave a user's events waiting; the sweep queues every head
 * older than a minute that has no job.
 */
export function withProductSweep (deps: Pick<Deps, 'db' | 'queues' | 'config'>, deliver: Processor): Processor {
  return async (job: Job, token?: string) => {
    if (job.name !== PRODUCT_SWEEP_JOB) return deliver(job, token)
    return { queued: await queueHeads(headDeps(deps), await deliveryHeads(deps.db, { olderThan: new Date(Date.now() - SWEEP_AGE_MS) })) }
  }
}

export async function scheduleProductSweep (queue: Parameters<typeof scheduleEvery>[0]): Promise<void> {
  await scheduleEvery(queue, PRODUCT_SWEEP_JOB, 60, {
    name: PRODUCT_SWEEP_JOB,
    data: {},
    opts: { attempts: 1, removeOnComplete: { count: 60 }, removeOnFail: { count: 60 } }
  })
}
