/**
 * Who may use the product, decided from subscription state alone (no clock, no I/O), so that the same
 * Stripe state always yields the same rows whatever order its events arrived in.
 */
import type { Discount } from './apply-records.js'
import type { PriceRef } from './plans.js'
import { statusRule } from './subscription-status.js'

/** What Tollgate needs from a Stripe subscription; times are unix seconds. */
export interface SubscriptionState {
  id: string
  customerId: string
  /** From `metadata.user_id` (set through Checkout's `subscription_data`); null when Stripe holds none. */
  userId: string | null
  priceId: string | null
  /** The price's plan: `metadata.tollgate_plan_id`, its product and its lookup key (see plans.ts `planOf`). */
  price: PriceRef | null
  status: string
  currentPeriodStart: number | null
  currentPeriodEnd: number | null
  cancelAtPeriodEnd: boolean
  /** Stripe's `cancel_at`: the moment a scheduled cancellation takes effect. */
  cancelAt: number | null
  startedAt: number
  endedAt: number | null
  /** When the unpaid invoice behind a `past_due` status was finalized; null unless past_due. */
  pastDueSince: number | null
  /** The Stripe test clock the subscription (and its customer) lives on, if any. */
  testClock: string | null
  trialStart: number | null
  trialEnd: number | null
  /**
   * The trial ends the subscription (canceled or paused: `trial_settings.end_behavior`) because
   * no payment method is on file: access stops at `trialEnd` without waiting for Stripe's event.
   */
  trialEndsWithoutCard: boolean
  /**
   * The price a subscription schedule moves it to at a phase boundary, and when; null when none;
   * undefined when the state names a schedule without carrying it (an event's payload): read it.
   */
  pending: { price: PriceRef, priceId: string, at: number } | null | undefined
  /** Undefined when the state names discounts without carrying them: read it. */
  discount: Discount | null | undefined
}

export interface AccessDecision {
  access: boolean
  /** Access ends at this moment even while `access` is true; null = until further notice. */
  accessUntil: number | null
}

const DAY = 86_400

/**
 * Access policy, by the status table (subscription-status.ts): active/trialing → access; past_due →
 * access for `graceDays` after the failed invoice; a scheduled cancellation keeps access to its date,
 * and a trial that ends without a card to its end;
 * every other status (canceled, unpaid, incomplete, incomplete_expired, paused) → none.
 */
export function decideAccess (s: SubscriptionState, graceDays: number): AccessDecision {
  const scheduled = s.cancelAtPeriodEnd ? (s.cancelAt ?? s.currentPeriodEnd) : s.cancelAt
  const trialEnds = s.status === 'trialing' && s.trialEndsWithoutCard ? s.trialEnd : null
  const cancelsAt = scheduled === null ? trialEnds : trialEnds === null ? scheduled : Math.min(scheduled, trialEnds)
  const { access } = statusRule(s.status)
  if (access === 'yes') return { access: true, accessUntil: cancelsAt }
  if (access === 'grace') {
    const graceEnds = (s.pastDueSince ?? s.currentPeriodStart ?? s.startedAt) + graceDays * DAY
    return { access: true, accessUntil: cancelsAt === null ? graceEnds : Math.min(graceEnds, cancelsAt) }
  }
  return { access: false, accessUntil: null }
}

/** One subscription of a user as stored, with its access decision. */
export interface StoredSubscription {
  id: string
  status: string
  access: boolean
  currentPeriodEnd: number | null
}

const rankOf = (s: StoredSubscription) => [s.access ? 1 : 0, s.currentPeriodEnd ?? 0] as const

/**
 * The subscription a user's entitlement follows when they hold several (a resubscription after a
 * cancellation, a duplicate checkout): one that grants access first, then the one reaching furthest,
 * then the id, so that the choice never depends on which was written last.
 */
export function currentSubscription<T extends StoredSubscription> (subs: readonly T[]): T | undefined {
  let best: T | undefined
  for (const s of subs) {
    if (!best) { best = s; continue }
    const [a, b] = [rankOf(s), rankOf(best)]
    if (a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : s.id > best.id) best = s
  }
  return best
}
