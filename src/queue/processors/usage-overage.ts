import type { Logger } from 'pino'
import { reportOverage, type ReportOverageDeps } from '../../billing/use-cases/report-overage.js'

/**
 * Reports overage to Stripe every `everyMs`, one run at a time. A failed run (Stripe or Postgres
 * away) leaves its reports pending for the next. Not a BullMQ job: a run holds nothing worth
 * retrying apart from what Postgres already keeps pending.
 */
export function startOverageReports (deps: ReportOverageDeps, log: Logger, everyMs: number): { close: () => Promise<void> } {
  let running: Promise<void> = Promise.resolve()
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    running = reportOverage(deps)
      .then(sent => { if (sent > 0) log.info({ sent }, 'usage overage reported to Stripe') })
      .catch((err: unknown) => { log.warn({ err: (err as Error).message }, 'usage overage report failed; retrying on the next run') })
      .finally(() => { busy = false })
  }, everyMs)
  return {
    async close () {
      clearInterval(timer)
      await running
    }
  }
}
