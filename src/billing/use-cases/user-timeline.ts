import type { Catalogue } from '../plans.js'
import type { Db } from '../../db/client.js'
import { userHistory } from '../../db/events-repo.js'
import { AppError } from '../../errors.js'
import { summarizeEvent } from '../event-summary.js'

export interface TimelineEntry {
  /** Stripe time where the entry has one (an event's `created`; an email's event's), else host time. */
  at: string
  clock: 'stripe' | 'host'
  /** When this host saw it: an event received, an email written to the outbox. */
  host_at: string
  kind: 'event' | 'email'
  summary: string
  event_id: string | null
  type: string | null
  outcome: string | null
  detail: Record<string, unknown>
}

const iso = (d: Date | null) => d?.toISOString() ?? null

/**
 * A user's billing story for an operator, oldest first, on one clock: Stripe's, which a test clock or
 * the emulator moves ahead of the host's, so an email sits right after the event that caused it rather
 * than a month before it. Host times stand beside, for matching logs.
 */
export async function userTimeline (db: Db, userId: string, catalogue?: Catalogue) {
  const h = await userHistory(db, userId)
  if (!h.customer && h.events.length === 0) throw new AppError(404, 'not_found', `Tollgate knows nothing about user ${userId}`)
  const entries: Array<TimelineEntry & { sortKey: [number, number, number] }> = []
  for (const e of h.events) {
    const { changes, detail } = summarizeEvent(e.type, e.payload as Record<string, any>, catalogue)
    const summary = `${e.type}${changes.length ? `: ${changes.join('; ')}` : ''} — ${e.outcome}${e.error ? `: ${e.error}` : ''}`
    entries.push({
      at: new Date(e.created * 1000).toISOString(),
      clock: 'stripe',
      host_at: e.receivedAt.toISOString(),
      sortKey: [e.created * 1000, 0, e.receivedAt.getTime()],
      kind: 'event',
      summary,
      event_id: e.eventId,
      type: e.type,
      outcome: e.outcome,
      detail: { ...detail, processed_at: iso(e.processedAt), error: e.error, user_id: e.userId }
    })
  }
  for (const m of h.emails) {
    const stripeMs = m.eventCreated === null ? null : m.eventCreated * 1000
    entries.push({
      at: new Date(stripeMs ?? m.createdAt.getTime()).toISOString(),
      clock: stripeMs === null ? 'host' : 'stripe',
      host_at: m.createdAt.toISOString(),
      // After the event that caused it, however close the clocks.
      sortKey: [stripeMs ?? m.createdAt.getTime(), 1, m.createdAt.getTime()],
      kind: 'email',
      summary: `email ${m.template}${m.eventType ? ` (for ${m.eventType})` : ''} — ${m.status}`,
      event_id: m.eventId,
      type: null,
      outcome: m.status,
      detail: { template: m.template, attempts: m.attempts, sent_at: iso(m.sentAt), last_error: m.lastError }
    })
  }
  // Stable: events that share a second keep the order Postgres gave (received time).
  entries.sort((a, b) => a.sortKey[0] - b.sortKey[0] || a.sortKey[1] - b.sortKey[1] || a.sortKey[2] - b.sortKey[2])
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
