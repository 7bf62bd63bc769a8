import type { Job, Processor, Queue } from 'bullmq'
import { markAttemptFailed, pendingBefore, type OutboxRef } from '../../db/outbox-repo.js'
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

/** The row's id for people reading the queue, its random key so that no other row's job ever has this id. */
export const outboxJobId = (ref: OutboxRef) => `outbox-${ref.id}-${ref.key}`

/** The one way an outbox row is queued: BullMQ drops a job whose id already exists. */
export async function queueOutboxSend (queue: Queue, ref: OutboxRef): Promise<void> {
  const data: EmailJob = { outboxId: ref.id, key: ref.key }
  await queue.add('send', data, { jobId: outboxJobId(ref) })
}

export interface SweepResult {
  /** Rows whose job was gone (Redis lost it): queued. */
  queued: number[]
  /**
   * Rows whose job had completed although the row is still pending: the database was restored
   * from a backup taken before the send was recorded. Queued again; the mail goes out once more
   * with its Message-ID (at least once).
   */
  requeued: number[]
  /** Rows whose job is in the failed set: marked failed, so the row says what the dead-letter queue says. */
  failed: number[]
}

/** One pending row: left alone while its job waits or runs, queued when the job is gone or done. */
async function sweepRow (deps: Pick<Deps, 'db' | 'queues'>, ref: OutboxRef, result: SweepResult): Promise<void> {
  const queue = deps.queues.email
  const job = await queue.getJob(outboxJobId(ref))
  const state = job ? await job.getState() : 'unknown'
  if (state === 'completed') {
    // A concurrent sweep may have removed or re-added it already: either way a job is queued below.
    await job!.remove().catch(() => {})
    await queueOutboxSend(queue, ref)
    result.requeued.push(ref.id)
  } else if (state === 'failed') {
    await markAttemptFailed(deps.db, ref.id, `send job failed: ${job!.failedReason}`, true)
    result.failed.push(ref.id)
  } else if (state === 'unknown') {
    await queueOutboxSend(queue, ref)
    result.queued.push(ref.id)
  }
}

export function withOutboxSweep (deps: Pick<Deps, 'db' | 'queues'>, sendEmail: Processor): Processor {
  return async (job: Job, token?: string) => {
    if (job.name !== OUTBOX_SWEEP_JOB) return sendEmail(job, token)
    const result: SweepResult = { queued: [], requeued: [], failed: [] }
    for (const ref of await pendingBefore(deps.db, new Date(Date.now() - SWEEP_AGE_MS), SWEEP_LIMIT)) await sweepRow(deps, ref, result)
    return result
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
