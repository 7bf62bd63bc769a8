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
}

const DAY = 86_400

/**
 * Windows of the current or the last billing period of every user with a customer: what the ledger
 * holds of each and how much overage is already reported (pending reports included).
 */
export async function recentWindowUsage (db: Db): Promise<WindowUsage[]> {
  const rows = await db.execute<Record<string, unknown>>(sql`
    select l.user_id, l.metric, l.window_start, sum(l.quantity) as used, e.plan_id, e.limits ->> l.metric as lim, c.stripe_customer_id,
      coalesce((select max(r.to_quantity) from usage_meter_reports r
        where r.user_id = l.user_id and r.metric = l.metric and r.window_start = l.window_start), 0) as reported
    from usage_ledger l
    join entitlements e on e.user_id = l.user_id
    join customers c on c.user_id = l.user_id and c.stripe_customer_id is not null
    where l.window_start >= coalesce(extract(epoch from e.current_period_end)::bigint, 0) - ${70 * DAY}
    group by l.user_id, l.metric, l.window_start, e.plan_id, e.limits, c.stripe_customer_id`)
  return [...rows].map(r => ({
    userId: r.user_id as string,
    metric: r.metric as string,
    windowStart: Number(r.window_start),
    used: Number(r.used),
    planId: r.plan_id as string | null,
    limit: r.lim === null ? null : Number(r.lim),
    stripeCustomerId: r.stripe_customer_id as string,
    reported: Number(r.reported)
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
