/**
 * Usage quotas, decided without I/O: which metric a call may name, the window it counts in, whether
 * the user may count at all, and the answer the product gets. The count itself is atomic in Redis
 * (src/queue/usage-counter.ts), where the hard limit is checked in the same step as the increment.
 */
import { AppError } from '../errors.js'
import { accessNow, type Clock } from './clock.js'
import { toEntitlement, type EntitlementSnapshot } from './entitlement-view.js'
import type { EmailWrite } from './apply-records.js'
import { productEvent, type EventEntitlement, type ProductEventWrite } from './product-events.js'
import type { Catalogue, Metered } from './plans.js'

const DAY = 86_400

/** The most one call may count: a larger number is a bug in the caller, not usage. */
export const MAX_QUANTITY = 1_000_000

/**
 * A billing period as counted: identified by its start, so that a renewal the webhook has not told us
 * of yet still counts into the right window. Past the stored period end, the next period starts where
 * the stored one ends, and when it resets is not known until Stripe says.
 */
export interface UsageWindow {
  start: number
  resetsAt: number | null
}

export function usageWindow (s: Pick<EntitlementSnapshot, 'current_period_start' | 'current_period_end'>, now: number): UsageWindow {
  const end = s.current_period_end
  if (end !== null && now >= end) return { start: end, resetsAt: null }
  return { start: s.current_period_start ?? end ?? 0, resetsAt: end }
}

export type UsageDenial = 'no_access' | 'not_in_plan'

/** What a usage call counts against, or why the user may count nothing. */
export type UsagePlan =
  | { kind: 'count', metric: string, limit: number, metered: Metered, window: UsageWindow, now: number }
  | { kind: 'denied', metric: string, reason: UsageDenial }

/** Refuses a metric no plan meters, naming the ones that are (a 400: the caller's code is wrong). */
export function checkMetric (catalogue: Pick<Catalogue, 'meteredMetrics'>, metric: string): void {
  if (catalogue.meteredMetrics.includes(metric)) return
  const known = catalogue.meteredMetrics.join(', ') || 'none'
  throw new AppError(400, 'unknown_metric', `"${metric}" is not a metered limit; metered: ${known}`, { metered: catalogue.meteredMetrics })
}

/**
 * Where a user's usage of `metric` counts, in their own time (a customer on a Stripe test clock
 * lives in that clock's). Access is decided as the entitlement read decides it.
 */
export function planUsage (catalogue: Pick<Catalogue, 'meteredMetrics' | 'byId'>, userId: string, s: EntitlementSnapshot, metric: string, clock: Clock): UsagePlan {
  checkMetric(catalogue, metric)
  if (!toEntitlement(userId, s, clock).access) return { kind: 'denied', metric, reason: 'no_access' }
  const plan = s.plan_id === null ? undefined : catalogue.byId(s.plan_id)
  const metered = plan?.metered?.[metric]
  const limit = s.limits[metric]
  if (!metered || limit === undefined) return { kind: 'denied', metric, reason: 'not_in_plan' }
  const now = accessNow(clock, s.test_clock_time)
  return { kind: 'count', metric, limit, metered, window: usageWindow(s, now), now }
}

export interface UsageAnswer {
  allowed: boolean
  metric: string
  used: number
  limit: number | null
  remaining: number | null
  resets_at: number | null
  /** Why nothing was counted. */
  reason?: UsageDenial | 'limit_reached'
}

/** The counter's word on one call, as the Redis script gives it back. */
export interface Counted { allowed: boolean, used: number, limit: number, resetsAt: number | null }

export function answerOf (metric: string, c: Counted): UsageAnswer {
  return {
    allowed: c.allowed,
    metric,
    used: c.used,
    limit: c.limit,
    remaining: Math.max(0, c.limit - c.used),
    resets_at: c.resetsAt,
    ...(!c.allowed && { reason: 'limit_reached' as const })
  }
}

export function deniedAnswer (metric: string, reason: UsageDenial): UsageAnswer {
  return { allowed: false, metric, used: 0, limit: null, remaining: null, resets_at: null, reason }
}

/** Usage that reached 80 % or 100 % of a period's included amount: the user is told once per period each. */
export interface ThresholdCrossing {
  userId: string
  metric: string
  windowStart: number
  percents: Array<80 | 100>
  /** The count that crossed them; null for an entry counted before the count was written with it. */
  used: number | null
  limit: number
  resetsAt: number | null
  /** When the call that crossed them was counted (unix seconds). */
  at: number
}

/** The emails a crossing sends: one per threshold, keyed by the period so a second crossing sends nothing. */
export function thresholdEmails (c: ThresholdCrossing, to: string): EmailWrite[] {
  return c.percents.map(percent => ({
    eventId: `usage:${c.userId}:${c.metric}:${c.windowStart}:${percent}`,
    userId: c.userId,
    to,
    intent: { template: 'usage_threshold', data: { metric: c.metric, percent, limit: c.limit, resets_at: c.resetsAt } }
  }))
}

/**
 * The product events of a crossing: one `usage.threshold_reached` per threshold, once per period
 * (its once-key), however often the drain writes the entry.
 */
export function thresholdEvents (c: ThresholdCrossing, entitlement: EventEntitlement): ProductEventWrite[] {
  return c.percents.map(threshold => productEvent('usage.threshold_reached', c.userId, entitlement, c.at,
    { metric: c.metric, threshold, used: c.used, limit: c.limit, resets_at: c.resetsAt }, `usage_threshold:${c.userId}:${c.metric}:${c.windowStart}:${threshold}`))
}

/**
 * The overage to report for one window: what is used above the limit and not reported yet, as the
 * next link of the window's chain. Only a plan that bills this metric as overage reports any; a lower
 * figure than already reported (a plan change raised the limit) reports nothing, never a credit.
 */
export function nextOverageReport (w: { used: number, limit: number | null, reported: number }, enforcement: Metered['enforcement'] | undefined): { from: number, to: number } | null {
  if (enforcement !== 'overage' || w.limit === null) return null
  const to = Math.max(0, w.used - w.limit)
  return to > w.reported ? { from: w.reported, to } : null
}

/** A user's billing period as Tollgate holds it: where usage windows begin and end. */
export interface HeldPeriod { start: number | null, end: number | null }

/**
 * The timestamp of a window's meter event: now in the customer's time, inside the window it bills
 * (Stripe bills an event in the period its timestamp falls in, and refuses one older than 35 days).
 * The window ends at the first period boundary Tollgate knows after its start: the previous
 * window's report, made after the boundary, is stamped at its last second; a window past the held
 * period end (a renewal not applied yet) has no known end and takes now.
 */
export function meterEventTime (windowStart: number, period: HeldPeriod, now: number): number {
  const end = [period.start, period.end].find(b => b !== null && b > windowStart) ?? null
  const latest = end === null ? now : Math.min(now, end - 1)
  return Math.max(windowStart, latest)
}

/** One call as the counter runs it (src/queue/usage-counter.ts). */
export interface UsageCall {
  /** consume checks a hard limit; record always counts; peek only reads. */
  mode: 'consume' | 'record' | 'peek'
  userId: string
  metric: string
  windowStart: number
  resetsAt: number | null
  quantity: number
  limit: number
  hard: boolean
  idempotencyKey?: string
  /** Entry id of what this call counts: chosen here, so a drain that runs twice writes it once. */
  entryId: string
  /** Seconds the counter lives if nothing else ends it: past its window it is never read again. */
  counterTtl: number
  /** Host time of the call, ms (the ledger's created_at). */
  at: number
}

/** How long a counter of a window should live: to its reset and two days more, a month and more when the reset is not known yet. */
export function counterTtl (resetsAt: number | null, now: number): number {
  return resetsAt === null ? 35 * DAY : Math.min(Math.max(resetsAt - now, 0) + 2 * DAY, 400 * DAY)
}
