import type Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { missingEventIds } from '../../db/events-repo.js'
import type { Queues } from '../../queue/queues.js'
import { toEventJob } from '../../stripe/webhook.js'
import { HANDLED_EVENT_TYPES, MAX_TYPES_PER_LIST } from '../handled-event-types.js'
import type { RedisClient } from '../../queue/connections.js'

export interface ReconcileDeps {
  db: Db
  stripe: Stripe
  queues: Pick<Queues, 'stripeEvents'>
}

export interface ReconcileResult {
  since: number
  scanned: number
  /** Events Stripe has that Postgres has no row for. */
  missing: number
  /** Of those, the ones queued now; the rest were already waiting in the queue. */
  queued: string[]
}

/** Ids are checked against Postgres a page at a time. */
const PAGE = 100

/**
 * Lists Stripe's events of the handled types created since `since` (unix seconds) and queues every
 * one Postgres has no record of, exactly as the webhook route would have (`toEventJob`, jobId =
 * event id): a webhook lost for good — the endpoint down longer than Stripe retries, Redis losing
 * its queue — is applied late instead of never. The worker's claim makes it safe to queue an event
 * that a late webhook also brings. Stripe lists each event in the API version current when it was
 * created, not the pinned one; the worker reads such an event's object again before deciding.
 */
export async function reconcileEvents (deps: ReconcileDeps, since: number): Promise<ReconcileResult> {
  const result: ReconcileResult = { since, scanned: 0, missing: 0, queued: [] }
  let page: Stripe.Event[] = []
  const flush = async () => {
    const missing = new Set(await missingEventIds(deps.db, page.map(e => e.id)))
    for (const event of page.filter(e => missing.has(e.id))) {
      result.missing++
      if (await enqueue(deps.queues.stripeEvents, event)) result.queued.push(event.id)
    }
    page = []
  }
  for (let i = 0; i < HANDLED_EVENT_TYPES.length; i += MAX_TYPES_PER_LIST) {
    const types = HANDLED_EVENT_TYPES.slice(i, i + MAX_TYPES_PER_LIST)
    for await (const event of deps.stripe.events.list({ types, created: { gte: since }, limit: PAGE })) {
      result.scanned++
      page.push(event)
      if (page.length === PAGE) await flush()
    }
    await flush()
  }
  return result
}

/**
 * A job still waiting under the event's id will apply it; a completed one (kept 3 days) whose row
 * is gone — Postgres restored from a backup — is removed first, or BullMQ would ignore the add.
 */
async function enqueue (queue: Queues['stripeEvents'], event: Stripe.Event): Promise<boolean> {
  const existing = await queue.getJob(event.id)
  if (existing) {
    if (!await existing.isCompleted()) return false
    await existing.remove()
  }
  await queue.add(event.type, toEventJob(event), { jobId: event.id })
  return true
}

export interface SweepOptions {
  redis: RedisClient
  prefix: string
  /** Re-read this much before the last sweep's start: clock skew, and events created while it ran. */
  overlapSeconds?: number
  /** How far back the first sweep looks: Stripe's retry window is 3 days. */
  firstLookbackSeconds?: number
  now?: () => number
}

export const sweepCursorKey = (prefix: string) => `${prefix}:reconcile:last-sweep-at`

/**
 * One scheduled sweep: from the last successful sweep's start (minus an overlap) to now. The cursor
 * lives in Redis so any worker process can run the next sweep; it moves only when a sweep
 * finishes, so a failed one is covered by the next.
 */
export async function reconcileSweep (deps: ReconcileDeps, opts: SweepOptions): Promise<ReconcileResult> {
  const now = Math.floor((opts.now ?? Date.now)() / 1000)
  const key = sweepCursorKey(opts.prefix)
  const last = Number(await opts.redis.get(key)) || null
  const since = last !== null ? last - (opts.overlapSeconds ?? 600) : now - (opts.firstLookbackSeconds ?? 3 * 86_400)
  const result = await reconcileEvents(deps, since)
  await opts.redis.set(key, String(now))
  return result
}
