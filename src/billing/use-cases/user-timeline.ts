import type { Db } from '../../db/client.js'
import { userHistory } from '../../db/events-repo.js'
import { AppError } from '../../errors.js'

type Obj = Record<string, any>

export interface TimelineEntry {
  at: string
  kind: 'event' | 'email'
  summary: string
  event_id: string | null
  type: string | null
  outcome: string | null
  detail: Record<string, unknown>
}

/** What an event said about the object it concerned: enough to read the story, no personal data. */
function describe (type: string, payload: Obj): { summary: string, detail: Record<string, unknown> } {
  const object: Obj = payload?.data?.object ?? {}
  const previous: Obj = payload?.data?.previous_attributes ?? {}
  const detail: Record<string, unknown> = { object_id: object.id ?? null }
  for (const key of ['status', 'cancel_at_period_end', 'amount_due', 'amount_paid', 'attempt_count', 'billing_reason']) {
    if (object[key] !== undefined) detail[key] = object[key]
  }
  const lookupKey = object.items?.data?.[0]?.price?.lookup_key
  if (lookupKey) detail.price_lookup_key = lookupKey
  const changed = Object.keys(previous)
  if (changed.length) detail.changed = changed
  if (previous.status !== undefined && object.status !== undefined) detail.status_change = `${previous.status} → ${object.status}`
  const parts = [type]
  if (detail.status_change) parts.push(`(${detail.status_change as string})`)
  else if (object.status) parts.push(`(${object.status as string})`)
  return { summary: parts.join(' '), detail }
}

/**
 * A user's billing story for an operator, oldest first: each event Tollgate received about them
 * with its outcome and what it said, each lifecycle email, then the state the events left.
 * Events sort by Stripe's `created`, emails by the time the outbox row was written.
 */
export async function userTimeline (db: Db, userId: string) {
  const h = await userHistory(db, userId)
  if (!h.customer && h.events.length === 0) throw new AppError(404, 'not_found', `Tollgate knows nothing about user ${userId}`)
  const entries: Array<TimelineEntry & { sortKey: number }> = []
  for (const e of h.events) {
    const { summary, detail } = describe(e.type, e.payload as Obj)
    const note = e.error ? `: ${e.error}` : ''
    entries.push({
      at: new Date(e.created * 1000).toISOString(),
      sortKey: e.created * 1000,
      kind: 'event',
      summary: `${summary} — ${e.outcome}${note}`,
      event_id: e.eventId,
      type: e.type,
      outcome: e.outcome,
      detail: { ...detail, received_at: e.receivedAt.toISOString(), processed_at: e.processedAt?.toISOString() ?? null, error: e.error, user_id: e.userId }
    })
  }
  for (const m of h.emails) {
    entries.push({
      at: m.createdAt.toISOString(),
      sortKey: m.createdAt.getTime(),
      kind: 'email',
      summary: `email ${m.template} — ${m.status}`,
      event_id: m.eventId,
      type: null,
      outcome: m.status,
      detail: { template: m.template, attempts: m.attempts, sent_at: m.sentAt?.toISOString() ?? null, last_error: m.lastError }
    })
  }
  // Stable: events that share a second keep the order Postgres gave (received time).
  entries.sort((a, b) => a.sortKey - b.sortKey)
  const iso = (d: Date | null) => d?.toISOString() ?? null
  return {
    user_id: userId,
    customer_id: h.customer?.stripeCustomerId ?? null,
    entries: entries.map(({ sortKey: _s, ...e }) => e),
    current: {
      entitlement: h.entitlement && {
        plan_id: h.entitlement.planId, status: h.entitlement.status, access: h.entitlement.access,
        access_until: iso(h.entitlement.accessUntil), current_period_end: iso(h.entitlement.currentPeriodEnd),
        cancel_at_period_end: h.entitlement.cancelAtPeriodEnd, granted_at: iso(h.entitlement.grantedAt), revoked_at: iso(h.entitlement.revokedAt)
      },
      subscriptions: h.subscriptions.map(s => ({
        subscription_id: s.stripeSubscriptionId, plan_id: s.planId, status: s.status, access: s.access,
        current_period_end: iso(s.currentPeriodEnd), cancel_at_period_end: s.cancelAtPeriodEnd, started_at: iso(s.startedAt), ended_at: iso(s.endedAt)
      }))
    }
  }
}
