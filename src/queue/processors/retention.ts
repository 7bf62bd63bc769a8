import type { Job, Processor, Queue } from 'bullmq'
import type { Logger } from 'pino'
import { applyRetention, retentionRules } from '../../db/retention.js'
import type { Deps } from '../../deps.js'
import { scheduleEvery } from '../schedule.js'
import { oldestWaitingUsage } from '../usage-ledger-drain.js'

/**
 * The retention job runs as `retention` on the stripe-events queue, like the reconciliation sweep:
 * every deployment runs that queue's workers, and the job scheduler makes one run per interval
 * however many worker processes there are. It takes one of the worker's job slots while it runs.
 */
export const RETENTION_JOB = 'retention'

/**
 * A run that ends its time budget with rows left queues the next slice a second later instead of
 * waiting for the schedule: a busy product's usage ledger gains rows faster than one 20-s run an
 * hour folds them. The short deduplication window lets the chain go on (the slice running now holds
 * no claim on the next) while a run that overlaps it adds no second follow-up.
 */
const FOLLOW_UP = { id: `${RETENTION_JOB}-more`, delayMs: 1000 }

export interface RetentionOptions { batch?: number, budgetMs?: number }

export function withRetention (deps: Pick<Deps, 'db' | 'redis' | 'config' | 'queues'>, next: Processor, log?: Pick<Logger, 'info'>, opts: RetentionOptions = {}): Processor {
  const rules = retentionRules(deps.config, { oldestWaitingUsage: async () => await oldestWaitingUsage({ redis: deps.redis, prefix: deps.config.QUEUE_PREFIX }) })
  return async (job: Job, token?: string) => {
    if (job.name !== RETENTION_JOB) return next(job, token)
    const run = await applyRetention(deps.db, rules, opts)
    log?.info({ pruned: run.pruned, more: run.more }, 'retention run')
    if (run.more) {
      await deps.queues.stripeEvents.add(RETENTION_JOB, {}, {
        delay: FOLLOW_UP.delayMs,
        deduplication: { id: FOLLOW_UP.id, ttl: FOLLOW_UP.delayMs / 2 },
        attempts: 1,
        removeOnComplete: { count: 24 },
        removeOnFail: { count: 24 }
      })
    }
    return run
  }
}

/** Idempotent across worker processes: they all upsert the same scheduler. */
export async function scheduleRetention (queue: Queue, everySeconds: number): Promise<void> {
  await scheduleEvery(queue, RETENTION_JOB, everySeconds, {
    name: RETENTION_JOB,
    data: {},
    // The next run repairs a failed one.
    opts: { attempts: 1, removeOnComplete: { count: 24 }, removeOnFail: { count: 24 } }
  })
}
