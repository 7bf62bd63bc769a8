import type { Queue } from 'bullmq'

export interface FailedJobView {
  queue: string
  job_id: string
  name: string
  failed_reason: string
  attempts_made: number
  failed_at: number | null
}

/**
 * The failed set of each queue is its dead-letter queue (policy.ts never removes failed jobs).
 * Job data is left out of listings: email jobs name an outbox row, event jobs are in stripe_events.
 */
export async function listFailedJobs (queue: Queue, limit: number): Promise<FailedJobView[]> {
  const jobs = await queue.getFailed(0, limit - 1)
  return jobs.filter(Boolean).map(j => ({
    queue: queue.name,
    job_id: j.id!,
    name: j.name,
    failed_reason: j.failedReason,
    attempts_made: j.attemptsMade,
    failed_at: j.finishedOn ?? null
  }))
}

/** Most jobs one retry-all request moves; run it again for more. */
const RETRY_ALL_LIMIT = 1000

/**
 * Retries the named failed jobs (the oldest failed ones when none are named) with fresh attempts,
 * so each gets the queue's whole backoff policy again; answers the ids that moved.
 */
export async function retryFailedJobs (queue: Queue, jobIds?: string[]): Promise<string[]> {
  const jobs = jobIds
    ? await Promise.all(jobIds.map(id => queue.getJob(id)))
    : await queue.getFailed(0, RETRY_ALL_LIMIT - 1)
  const retried: string[] = []
  for (const job of jobs) {
    if (!job || !await job.isFailed()) continue
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
    retried.push(job.id!)
  }
  return retried
}
