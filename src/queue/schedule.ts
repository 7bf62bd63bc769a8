import type { JobSchedulerTemplateOptions, Queue } from 'bullmq'

/**
 * Keeps one repeating job per id however many workers start (BullMQ's job scheduler is an upsert);
 * an interval of 0 removes it.
 */
export async function scheduleEvery (queue: Queue, id: string, everySeconds: number, job: { name: string, data: unknown, opts?: JobSchedulerTemplateOptions }): Promise<void> {
  if (everySeconds === 0) await queue.removeJobScheduler(id)
  else await queue.upsertJobScheduler(id, { every: everySeconds * 1000 }, job)
}
