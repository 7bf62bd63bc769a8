import { hostname } from 'node:os'
import { Worker, type Processor, type WorkerOptions } from 'bullmq'
import type { Logger } from 'pino'
import { errorLine } from '../db/errors.js'
import type { Deps } from '../deps.js'
import { createRedis } from './connections.js'
import { QUEUES, type QueueName } from './policy.js'
import { createEmailProcessor } from './processors/email.js'
import { withOutboxSweep } from './processors/outbox-sweep.js'
import { createPricesProcessor } from './processors/prices.js'
import { createProductEventProcessor, withProductSweep } from './processors/product-events.js'
import { withReconcileSweep } from './processors/reconcile.js'
import { withRetention } from './processors/retention.js'
import { createStripeEventProcessor } from './processors/stripe-events.js'

export interface StartedWorkers {
  workers: Worker[]
  close: () => Promise<void>
}

/**
 * The name BullMQ records on every job a worker of this process takes (`processedBy`): the queue
 * dashboard shows which process holds a job, and after a crash the jobs of the dead process are told
 * from those of the living.
 */
export const workerName = (pid = process.pid, host = hostname()) => `${host}:${pid}`

/** Times a job may be found without its worker's lock (the worker died) before it is failed. */
export const MAX_STALLED_COUNT = 5

export interface WorkerTuning {
  concurrency?: number
  /** Shorter lock settings make stalled-job recovery faster (tests); defaults suit production. */
  lockDuration?: number
  stalledInterval?: number
}

/** Processors by queue: each a plain function of its dependencies, testable with a fake job. */
export function processorsFor (deps: Deps, log?: Logger): Partial<Record<QueueName, Processor>> {
  return {
    [QUEUES.stripeEvents]: withRetention(deps, withReconcileSweep(deps, createStripeEventProcessor(deps)), log),
    [QUEUES.email]: withOutboxSweep(deps, createEmailProcessor(deps)),
    [QUEUES.prices]: createPricesProcessor(deps, log),
    [QUEUES.productEvents]: withProductSweep(deps, createProductEventProcessor(deps, log))
  }
}

/** Starts one BullMQ worker per selected queue, each on its own blocking connection. */
export function startWorkers (deps: Deps, queues: readonly QueueName[], log: Logger, tuning: WorkerTuning = {}): StartedWorkers {
  const processors = processorsFor(deps, log)
  const workers: Worker[] = []
  for (const name of queues) {
    const processor = processors[name]
    if (!processor) { log.warn({ queue: name }, 'no processor for queue yet; skipped'); continue }
    const opts: WorkerOptions = {
      name: workerName(),
      connection: createRedis(deps.config.REDIS_URL, 'worker'),
      prefix: deps.config.QUEUE_PREFIX,
      concurrency: tuning.concurrency ?? (name === QUEUES.stripeEvents ? deps.config.APPLY_BATCH_SIZE : deps.config.WORKER_CONCURRENCY),
      lockDuration: tuning.lockDuration ?? 30_000,
      stalledInterval: tuning.stalledInterval ?? 30_000,
      maxStalledCount: MAX_STALLED_COUNT
    }
    const worker = new Worker(name, processor, opts)
    worker.on('failed', (job, err) => log.warn({ queue: name, jobId: job?.id, attempt: job?.attemptsMade, err: errorLine(err) }, 'job failed'))
    worker.on('error', err => log.error({ queue: name, err: err.message }, 'worker error'))
    workers.push(worker)
  }
  return {
    workers,
    async close () {
      // close() waits for running jobs to finish; their results are committed before the process exits.
      await Promise.all(workers.map(async w => {
        await w.close()
        // Nothing is left to send once close() returns: the connection is dropped at once rather than
        // with a QUIT that waits for every node of a cluster to answer.
        const client = await w.client
        client.disconnect()
      }))
    }
  }
}
