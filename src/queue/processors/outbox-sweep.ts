import type { Job, Processor, Queue } from 'bullmq'
import { pendingBefore } from '../../db/outbox-repo.js'
import type { Deps } from '../../deps.js'
import { scheduleEvery } from '../schedule.js'
import type { EmailJob } from '../policy.js'

/**
 * The outbox sweep runs as a job named `outbox-sweep` on the email queue. Send jobs are queued
 * after the event's transaction commits, so a Redis that loses them (a crash, a restart without
 * AOF) would leave their rows `pending` for ever; the sweep queues them again. Send jobs are named
 * `send`, so the name routes it.
 */
export const OUTBOX_SWEEP_JOB = 'outbox-sweep'

/** Older than the time a healthy worker needs to send a row, so the sweep rarely races a live job. */
const SWEEP_AGE_MS = 2 * 60_000
const SWEEP_LIMIT = 1000

/** The one way an outbox row is queued: jobId `outbox-<id>` lets BullMQ drop a job that already exists. */
export async function queueOutboxSend (queue: Queue, outboxId: number): Promise<void> {
  const data: EmailJob = { outboxId }
  await queue.add('send', data, { jobId: `outbox-${outboxId}` })
}

export function withOutboxSweep (deps: Pick<Deps, 'db' | 'queues'>, sendEmail: Processor): Processor {
  return async (job: Job, token?: string) => {
    if (job.name !== OUTBOX_SWEEP_JOB) return sendEmail(job, token)
    const ids = await pendingBefore(deps.db, new Date(Date.now() - SWEEP_AGE_MS), SWEEP_LIMIT)
    for (const id of ids) await queueOutboxSend(deps.queues.email, id)
    return { queued: ids }
  }
}

/** Idempotent across worker processes: they all upsert the same scheduler at start. */
export async function scheduleOutboxSweep (queue: Queue): Promise<void> {
  await scheduleEvery(queue, OUTBOX_SWEEP_JOB, 60, {
    name: OUTBOX_SWEEP_JOB,
    data: {},
    // The next sweep repairs a failed one; the email policy's 20 attempts are not needed.
    opts: { attempts: 1, removeOnComplete: { count: 60 }, removeOnFail: { count: 60 } }
  })
}
