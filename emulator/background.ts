// Work Stripe does after answering (a test clock's advance): run on a timer, cancelled on close,
// and runnable at once when something needs its result first.
export class Background {
  private jobs = new Map<string, { timer: NodeJS.Timeout, run: () => void }>()
  private handlers = new Map<string, (id: string) => void>()

  constructor (private readonly onError: (err: unknown) => void) {}

  /** Names the work for a kind of job, so modules can schedule it without importing what it does. */
  on (kind: string, handler: (id: string) => void): void {
    this.handlers.set(kind, handler)
  }

  later (kind: string, id: string, delayMs: number): void {
    const handler = this.handlers.get(kind)
    if (handler) this.schedule(`${kind}:${id}`, () => handler(id), delayMs)
  }

  /** Schedules `run` under `key` after `delayMs`; a job already queued under the key is replaced. */
  schedule (key: string, run: () => void, delayMs = 0): void {
    this.cancel(key)
    const timer = setTimeout(() => this.runNow(key), delayMs)
    this.jobs.set(key, { timer, run })
  }

  has (key: string): boolean {
    return this.jobs.has(key)
  }

  /** Runs a queued job now (if any), instead of on its turn. */
  runNow (key: string): void {
    const job = this.jobs.get(key)
    if (!job) return
    this.cancel(key)
    try {
      job.run()
    } catch (err) {
      this.onError(err)
    }
  }

  flush (): void {
    for (const key of [...this.jobs.keys()]) this.runNow(key)
  }

  cancel (key: string): void {
    const job = this.jobs.get(key)
    if (job) clearTimeout(job.timer)
    this.jobs.delete(key)
  }

  close (): void {
    for (const key of [...this.jobs.keys()]) this.cancel(key)
  }
}
