import type { JobSchedulerTemplateOptions, Queue } from 'bullmq'

/**
 * Keeps one repeating job per id however many workers start (BullMQ's job scheduler is an upsert);
 * an interval of 0 removes it.
 */
export async function scheduleEvery (queue: Queue, id: string, everySeconds: number, job: { name: string, data: unknown, opts?: JobSchedulerTemplateOptions }): Promise<void> {
  if (everySeconds === 0) await queue.removeJobScheduler(id)
  else await queue.upsertJobScheduler(id, { every: everySeconds * 1000 }, job)
}

/**
 * Upserts the schedulers now and again every `everyMs`. A Redis that loses a scheduler's next job (a
 * failover before the job reached the replica, a restart without AOF) leaves that schedule stopped
 * until something upserts it again; an upsert of an unchanged scheduler keeps its next run time, so
 * repeating it costs one script call and moves nothing. Returns the stop function.
 */
export async function keepScheduled (upsert: () => Promise<void>, everyMs: number, onError: (err: Error) => void): Promise<() => void> {
  await upsert()
  const timer = setInterval(() => { upsert().catch(onError) }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
