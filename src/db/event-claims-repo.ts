import { inArray, sql } from 'drizzle-orm'
import type { Db, Tx } from './client.js'
import { stripeEvents } from './schema.js'
import { lastPerKey, upsertMany } from './upsert.js'

export interface EventRecord {
  id: string
  type: string
  created: number
  receivedAt: Date
  payload: unknown
}

export interface EventOutcome { id: string, outcome: 'applied' | 'ignored', userId: string | null, note: string | null }

/** A claim carries the event's outcome as decided before the transaction; `settleEvents` corrects it. */
export type EventClaim = EventRecord & EventOutcome

/**
 * Claims events for this transaction; returns the ids claimed. A second delivery, a retried job or a
 * racing worker finds the row and is left out (a racing insert waits on the key until the first
 * commits). A `failed` row is claimed again, so a replay from the dead-letter queue applies the event.
 * Rows go in id order, so two batches claiming overlapping events cannot deadlock.
 */
export async function claimEvents (tx: Tx, events: EventClaim[]): Promise<Set<string>> {
  if (events.length === 0) return new Set()
  const processedAt = new Date()
  const rows = lastPerKey(events, e => e.id).sort((a, b) => (a.id < b.id ? -1 : 1)).map(e => ({
    eventId: e.id, type: e.type, created: e.created, receivedAt: e.receivedAt, payload: e.payload, outcome: e.outcome, userId: e.userId, error: e.note, processedAt
  }))
  const claimed = await upsertMany(tx, stripeEvents, rows, {
    target: 'eventId', set: ['outcome', 'userId', 'error', 'processedAt'], where: sql`stripe_events.outcome = 'failed'`, returning: 'eventId'
  })
  return new Set(claimed as string[])
}

/** The outcomes the transaction's decision reached where they differ from the claim's. */
export async function settleEvents (tx: Tx, outcomes: EventOutcome[]): Promise<void> {
  if (outcomes.length === 0) return
  await tx.execute(sql`update stripe_events e set outcome = v.outcome, user_id = v.user_id, error = v.note
    from jsonb_to_recordset(${JSON.stringify(outcomes.map(o => ({ id: o.id, outcome: o.outcome, user_id: o.userId, note: o.note })))}::jsonb)
      as v(id text, outcome text, user_id text, note text) where e.event_id = v.id`)
}

/** Outside any transaction: the event's work rolled back, the audit trail still shows why. */
export async function recordFailedEvent (db: Db, e: EventRecord, error: string): Promise<void> {
  await db.insert(stripeEvents).values({
    eventId: e.id, type: e.type, created: e.created, receivedAt: e.receivedAt, outcome: 'failed', error, processedAt: new Date(), payload: e.payload
  }).onConflictDoUpdate({
    target: stripeEvents.eventId,
    set: { error, processedAt: new Date() },
    setWhere: sql`${stripeEvents.outcome} = 'failed'`
  })
}

/** The users applied events concerned, as recorded when they were applied. */
export async function eventUsersOf (db: Db, eventIds: string[]): Promise<string[]> {
  if (eventIds.length === 0) return []
  const rows = await db.selectDistinct({ userId: stripeEvents.userId }).from(stripeEvents).where(inArray(stripeEvents.eventId, eventIds))
  return rows.flatMap(r => (r.userId ? [r.userId] : []))
}
