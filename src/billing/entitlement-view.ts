import type { Discount, PendingChange } from './apply-records.js'
import { accessNow, type Clock } from './clock.js'

/**
 * What the product sees of a user's entitlement. The stored snapshot keeps the access decision and
 * its end time; whether access holds is decided at read time, so a cached snapshot never grants
 * access past `access_until`. Times are unix seconds, as in Stripe's API.
 */
export interface EntitlementSnapshot {
  plan_id: string | null
  status: string
  access: boolean
  access_until: number | null
  features: Record<string, boolean>
  limits: Record<string, number>
  current_period_end: number | null
  /** Where the period began: usage counts per period (a snapshot cached before it was kept has none). */
  current_period_start?: number | null
  cancel_at_period_end: boolean
  trial_end?: number | null
  pending_change?: PendingChange | null
  discount?: Discount | null
  /** The frozen time of the Stripe test clock the user's customer lives on: their "now". */
  test_clock_time?: number | null
}

export interface Entitlement {
  user_id: string
  plan_id: string | null
  status: string
  access: boolean
  features: Record<string, boolean>
  limits: Record<string, number>
  current_period_end: number | null
  cancel_at_period_end: boolean
  /** While trialing: when the trial ends. */
  trial_end: number | null
  /** A plan change scheduled for a period boundary: the current plan's features hold until `at`. */
  pending_change: PendingChange | null
  discount: Discount | null
}

export const NO_ENTITLEMENT: EntitlementSnapshot = {
  plan_id: null, status: 'none', access: false, access_until: null, features: {}, limits: {}, current_period_end: null, cancel_at_period_end: false
}

/**
 * Features and limits are given only while access holds, so a product that reads a feature flag
 * without looking at `access` still denies a canceled user.
 */
export function toEntitlement (userId: string, s: EntitlementSnapshot, clock: Clock): Entitlement {
  const now = accessNow(clock, s.test_clock_time)
  const access = s.access && (s.access_until === null || s.access_until > now)
  return {
    user_id: userId,
    plan_id: s.plan_id,
    status: s.status,
    access,
    features: access ? s.features : {},
    limits: access ? s.limits : {},
    current_period_end: s.current_period_end,
    cancel_at_period_end: s.cancel_at_period_end,
    trial_end: s.status === 'trialing' ? (s.trial_end ?? null) : null,
    pending_change: s.pending_change ?? null,
    discount: s.discount ?? null
  }
}
