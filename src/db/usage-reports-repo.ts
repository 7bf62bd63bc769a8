import { and, asc, eq, sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { usageMeterReports } from './schema.js'

export type MeterReport = typeof usageMeterReports.$inferSelect
export type NewMeterReport = Omit<typeof usageMeterReports.$inferInsert, 'status' | 'error' | 'createdAt' | 'sentAt'>

/** A user's usage of a metric in one window, with their plan's limit now and the overage reported so far. */
export interface WindowUsage {
  userId: string
  metric: string
  windowStart: number
  used: number
  planId: string | null
  limit: number | null
  stripeCustomerId: string
  reported: number
  /** The user's current period as held (its start from the followed subscription, its end from the entitlement). */
  periodStart: number | null
  periodEnd: number | null
  /** The time of the Stripe test clock the customer lives on (null: the host's). */
  testClockTime: number | null
}

/**
 * The windows of every user with a customer that can still be billed: the current period's (and
 * one past its held end, while a renewal is not applied yet) and the previous one's, the latest
 * window before the current one, whatever the plan's interval. With what the ledger holds of each
 * and how much overage is already reported (pending reports included).
 */
export async function recentWindowUsage (db: Db): Promise<WindowUsage[]> {
  const rows = await db.execute<Record<string, unknown>>(sql`
    with p as (
      select e.user_id, e.plan_id, e.limits, c.stripe_customer_id, tc.frozen_time as clock_time,
        extract(epoch from s.current_period_start)::bigint as period_start,
        extract(epoch from e.current_period_end)::bigint as period_end
      from entitlements e
      join customers c on c.user_id = e.user_id and c.stripe_customer_id is not null
      left join subscriptions s on s.stripe_subscription_id = e.stripe_subscription_id
      left join test_clocks tc on tc.id = c.test_clock_id
    ), w as (
      select p.*, coalesce(p.period_start, p.period_end, 0) as current_start from p
    ), f as (
      select w.*, coalesce((select max(l.window_start) from usage_ledger l
        where l.user_id = w.user_id and l.window_start < w.current_start), w.current_start) as first_window
      from w
    )
    select l.user_id, l.metric, l.window_start, sum(l.quantity) as used, f.plan_id, f.limits ->> l.metric as lim, f.stripe_customer_id,
      f.period_start, f.period_end, f.clock_time,
      coalesce((select max(r.to_quantity) from usage_meter_reports r
        where r.user_id = l.user_id and r.metric = l.metric and r.window_start = l.window_start), 0) as reported
    from f
    join usage_ledger l on l.user_id = f.user_id and l.window_start >= f.first_window
    group by l.user_id, l.metric, l.window_start, f.plan_id, f.limits, f.stripe_customer_id, f.period_start, f.period_end, f.clock_time`)
  const numberOrNull = (v: unknown) => (v === null ? null : Number(v))
  return [...rows].map(r => ({
    userId: r.user_id as string,
    metric: r.metric as string,
    windowStart: Number(r.window_start),
    used: Number(r.used),
    planId: r.plan_id as string | null,
    limit: numberOrNull(r.lim),
    stripeCustomerId: r.stripe_customer_id as string,
    reported: Number(r.reported),
    periodStart: numberOrNull(r.period_start),
    periodEnd: numberOrNull(r.period_end),
    testClockTime: numberOrNull(r.clock_time)
  }))
}

/** Writes reports to send; one already written for the same link of a chain is kept as it was. */
export async function saveReports (db: Db, reports: NewMeterReport[]): Promise<void> {
  if (reports.length === 0) return
  await db.insert(usageMeterReports).values(reports).onConflictDoNothing()
}

export async function pendingReports (db: Db, limit = 500): Promise<MeterReport[]> {
  return await db.select().from(usageMeterReports).where(eq(usageMeterReports.status, 'pending')).orderBy(asc(usageMeterReports.createdAt)).limit(limit)
}

export async function markReportSent (db: Db, identifier: string): Promise<void> {
  await db.update(usageMeterReports).set({ status: 'sent', sentAt: new Date() })
    .where(and(eq(usageMeterReports.identifier, identifier), eq(usageMeterReports.status, 'pending')))
}

/** Stripe refused the report for good: it leaves the pending ones, with Stripe's reason. */
export async function markReportFailed (db: Db, identifier: string, error: string): Promise<void> {
  await db.update(usageMeterReports).set({ status: 'failed', error })
    .where(and(eq(usageMeterReports.identifier, identifier), eq(usageMeterReports.status, 'pending')))
}
