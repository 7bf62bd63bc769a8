import { createHash } from 'node:crypto'
import Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { faultPoint } from '../../fault-points.js'
import { markReportFailed, markReportSent, pendingReports, recentWindowUsage, saveReports, type MeterReport, type NewMeterReport } from '../../db/usage-reports-repo.js'
import { accessNow, hostClock, type Clock } from '../clock.js'
import { meterEventName, type Catalogue } from '../plans.js'
import { meterEventTime, nextOverageReport } from '../usage.js'

export interface ReportOverageDeps {
  db: Db
  stripe: Stripe
  catalogue: Pick<Catalogue, 'byId'>
  /** The host's clock; a customer on a Stripe test clock lives in that clock's time. */
  now?: Clock
}

/** Stripe takes an identifier of at most 100 characters; a hash also keeps user ids out of Stripe. */
const identifierOf = (r: Pick<NewMeterReport, 'userId' | 'metric' | 'windowStart' | 'fromQuantity'>) =>
  `tollgate_${createHash('sha256').update(JSON.stringify([r.userId, r.metric, r.windowStart, r.fromQuantity])).digest('hex').slice(0, 48)}`

/** A meter event Stripe already holds under this identifier: the earlier send got through. */
const isDelivered = (err: unknown) => err instanceof Stripe.errors.StripeInvalidRequestError && /already exists/i.test(err.message)

/**
 * Sends one report. Stripe's 400 other than a duplicate (a timestamp past its 35 days, say) will not
 * change on a retry: the report is marked failed with the reason, so it does not hold up the others.
 * Anything else (Stripe away, 5xx, 429) leaves it pending for the next run.
 */
async function send (deps: ReportOverageDeps, r: MeterReport): Promise<void> {
  try {
    await deps.stripe.billing.meterEvents.create({
      event_name: meterEventName(r.metric),
      identifier: r.identifier,
      // Chosen when the report was written: a resend is the same event, in the window it bills.
      timestamp: r.eventTimestamp,
      payload: { stripe_customer_id: r.stripeCustomerId, value: String(r.toQuantity - r.fromQuantity) }
    }, { idempotencyKey: r.identifier })
  } catch (err) {
    if (err instanceof Stripe.errors.StripeInvalidRequestError && !isDelivered(err)) {
      await markReportFailed(deps.db, r.identifier, err.message)
      return
    }
    if (!isDelivered(err)) throw err
  }
  await faultPoint('after-meter-report', r.identifier)
  await markReportSent(deps.db, r.identifier)
}

/**
 * Reports usage above the included amount to Stripe Billing Meters. Decide the next link of each
 * window's chain and write it pending (read → decide → write), then send every pending report
 * outside any transaction. A report is sent under its own identifier whatever the run, so a worker
 * killed after Stripe took an event and before it was marked sends it again, and Stripe bills it once.
 * A report that cannot be sent now waits for the next run without holding up the others. Answers
 * how many reports were tried.
 */
export async function reportOverage (deps: ReportOverageDeps): Promise<number> {
  const clock = deps.now ?? hostClock
  const reports: NewMeterReport[] = []
  for (const w of await recentWindowUsage(deps.db)) {
    const plan = w.planId === null ? undefined : deps.catalogue.byId(w.planId)
    const next = nextOverageReport(w, plan?.metered?.[w.metric]?.enforcement)
    if (!next) continue
    const eventTimestamp = meterEventTime(w.windowStart, { start: w.periodStart, end: w.periodEnd }, accessNow(clock, w.testClockTime))
    const report = { userId: w.userId, metric: w.metric, windowStart: w.windowStart, fromQuantity: next.from, toQuantity: next.to, stripeCustomerId: w.stripeCustomerId, eventTimestamp }
    reports.push({ ...report, identifier: identifierOf(report) })
  }
  await saveReports(deps.db, reports)
  const pending = await pendingReports(deps.db)
  // One at a time, below Stripe's rate limits; the first error is raised once the others were tried.
  let error: unknown
  for (const r of pending) await send(deps, r).catch((err: unknown) => { error ??= err })
  if (error !== undefined) throw error
  return pending.length
}
