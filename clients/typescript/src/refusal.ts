import type { Verdict } from './entitlements.js'

/** The HTTP answer to a refused request: 401 without a user, 402 without access, 403 without the feature, 503 with Tollgate out and failing closed. */
export function refusal (verdict: Verdict | null): { status: number, body: { error: string, message: string } } {
  if (!verdict) return { status: 401, body: { error: 'unauthenticated', message: 'No user to check access for' } }
  if (verdict.reason === 'no_access') return { status: 402, body: { error: 'no_access', message: 'A subscription is needed for this' } }
  if (verdict.reason === 'feature_not_in_plan') return { status: 403, body: { error: 'feature_not_in_plan', message: 'Your plan does not include this' } }
  return { status: 503, body: { error: 'billing_unavailable', message: 'Access cannot be checked right now; try again shortly' } }
}
