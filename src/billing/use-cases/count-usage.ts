import { randomUUID } from 'node:crypto'
import { hostClock } from '../clock.js'
import type { EntitlementSnapshot } from '../entitlement-view.js'
import type { Catalogue } from '../plans.js'
import { answerOf, counterTtl, deniedAnswer, planUsage, type Counted, type UsageAnswer, type UsageCall } from '../usage.js'
import { readSnapshot, type CacheRead, type ReadEntitlementsDeps } from './read-entitlements.js'

export interface UsageDeps extends ReadEntitlementsDeps {
  catalogue: Pick<Catalogue, 'meteredMetrics' | 'byId'>
  /** The atomic counter (src/queue/usage-counter.ts `countUsage`). */
  count: (call: UsageCall) => Promise<Counted>
}

export interface UsageRequest {
  user_id: string
  metric: string
  quantity: number
  idempotency_key?: string
}

/**
 * `consume` counts only what a hard limit allows; `record` counts usage that already happened,
 * whatever the limit (above it is overage). Read the entitlement (cached), decide the window, then
 * one Redis script counts. `cacheRead` is the entitlement's cache read if the caller started it already.
 */
export async function countUsageOf (deps: UsageDeps, mode: 'consume' | 'record', req: UsageRequest, cacheRead?: CacheRead): Promise<UsageAnswer> {
  const snapshot = await readSnapshot(deps, req.user_id, cacheRead)
  return await count(deps, mode, req, snapshot)
}

async function count (deps: UsageDeps, mode: 'consume' | 'record' | 'peek', req: UsageRequest, snapshot: EntitlementSnapshot): Promise<UsageAnswer> {
  const plan = planUsage(deps.catalogue, req.user_id, snapshot, req.metric, deps.now ?? hostClock)
  if (plan.kind === 'denied') return deniedAnswer(req.metric, plan.reason)
  const counted = await deps.count({
    mode,
    userId: req.user_id,
    metric: req.metric,
    windowStart: plan.window.start,
    resetsAt: plan.window.resetsAt,
    quantity: req.quantity,
    limit: plan.limit,
    hard: plan.metered.enforcement === 'hard',
    idempotencyKey: req.idempotency_key,
    entryId: randomUUID(),
    counterTtl: counterTtl(plan.window.resetsAt, plan.now),
    at: Date.now()
  })
  return answerOf(req.metric, counted)
}

export type UsageLine = Omit<UsageAnswer, 'allowed' | 'metric' | 'reason'>

/** Every limit the user's plan meters, as used so far this period; nothing without access. */
export async function usageLines (deps: UsageDeps, userId: string, snapshot: EntitlementSnapshot): Promise<Record<string, UsageLine>> {
  const plan = snapshot.plan_id === null ? undefined : deps.catalogue.byId(snapshot.plan_id)
  const lines: Record<string, UsageLine> = {}
  await Promise.all(Object.keys(plan?.metered ?? {}).map(async metric => {
    const answer = await count(deps, 'peek', { user_id: userId, metric, quantity: 0 }, snapshot)
    if (answer.reason === undefined) lines[metric] = { used: answer.used, limit: answer.limit, remaining: answer.remaining, resets_at: answer.resets_at }
  }))
  return lines
}
