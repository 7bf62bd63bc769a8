import { and, asc, desc, eq, inArray, lt, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from './client.js'
import { customers, emailOutbox, entitlements, stripeEvents, subscriptions } from './schema.js'

export type EventOutcome = 'applied' | 'ignored' | 'failed'

export interface EventListQuery {
  status?: EventOutcome
  type?: string
  limit: number
  /** An event id: the page starts after it, newest first. */
  startingAfter?: string
}

const listColumns = {
  eventId: stripeEvents.eventId,
  type: stripeEvents.type,
  created: stripeEvents.created,
  receivedAt: stripeEvents.receivedAt,
  processedAt: stripeEvents.processedAt,
  outcome: stripeEvents.outcome,
  userId: stripeEvents.userId,
  error: stripeEvents.error
}

export type EventSummaryRow = { [K in keyof typeof listColumns]: typeof stripeEvents.$inferSelect[K] }

/**
 * Recorded events, newest received first, without payloads. The page cursor is (received_at,
 * event_id) of the `startingAfter` event, so pages neither skip nor repeat rows that share a time.
 * Returns one row more than asked so the caller knows whether there is a next page.
 */
export async function listEvents (db: Db, q: EventListQuery): Promise<EventSummaryRow[] | null> {
  const where: SQL[] = []
  if (q.status) where.push(eq(stripeEvents.outcome, q.status))
  if (q.type) where.push(eq(stripeEvents.type, q.type))
  if (q.startingAfter) {
    const [cursor] = await db.select({ receivedAt: stripeEvents.receivedAt }).from(stripeEvents).where(eq(stripeEvents.eventId, q.startingAfter))
    if (!cursor) return null
    where.push(or(
      lt(stripeEvents.receivedAt, cursor.receivedAt),
      and(eq(stripeEvents.receivedAt, cursor.receivedAt), lt(stripeEvents.eventId, q.startingAfter))
    )!)
  }
  return db.select(listColumns).from(stripeEvents).where(and(...where))
    .orderBy(desc(stripeEvents.receivedAt), desc(stripeEvents.eventId)).limit(q.limit + 1)
}

export async function eventById (db: Db, eventId: string) {
  const [row] = await db.select().from(stripeEvents).where(eq(stripeEvents.eventId, eventId))
  return row ?? null
}

/** Of these event ids, the ones Postgres has no row for. */
export async function missingEventIds (db: Db, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await db.select({ id: stripeEvents.eventId }).from(stripeEvents)
    .where(inArray(stripeEvents.eventId, ids))
  const known = new Set(rows.map(r => r.id))
  return ids.filter(id => !known.has(id))
}

export async function customerOf (db: Db, userId: string) {
  const [row] = await db.select().from(customers).where(eq(customers.userId, userId))
  return row ?? null
}

/**
 * Everything recorded about one user, oldest first: the events that named them, and also the
 * events of their Stripe customer that named no user (an invoice Tollgate ignored still belongs
 * to the story). The customer match reads the payload; see OPERATIONS.md on its cost.
 */
export async function userHistory (db: Db, userId: string) {
  const customer = await customerOf(db, userId)
  const byUser = eq(stripeEvents.userId, userId)
  const byCustomer = customer?.stripeCustomerId
    ? sql`${stripeEvents.payload} #>> '{data,object,customer}' = ${customer.stripeCustomerId}`
    : undefined
  const events = await db.select().from(stripeEvents)
    .where(byCustomer ? or(byUser, byCustomer) : byUser)
    .orderBy(asc(stripeEvents.created), asc(stripeEvents.receivedAt), asc(stripeEvents.eventId))
  // Each email with the Stripe time and type of the event that caused it.
  const emails = await db.select({
    id: emailOutbox.id, eventId: emailOutbox.eventId, template: emailOutbox.template, status: emailOutbox.status,
    attempts: emailOutbox.attempts, lastError: emailOutbox.lastError, createdAt: emailOutbox.createdAt, sentAt: emailOutbox.sentAt,
    eventCreated: stripeEvents.created, eventType: stripeEvents.type
  }).from(emailOutbox).leftJoin(stripeEvents, eq(stripeEvents.eventId, emailOutbox.eventId))
    .where(eq(emailOutbox.userId, userId)).orderBy(asc(emailOutbox.createdAt), asc(emailOutbox.id))
  const subs = await db.select().from(subscriptions).where(eq(subscriptions.userId, userId)).orderBy(asc(subscriptions.startedAt))
  const [entitlement] = await db.select().from(entitlements).where(eq(entitlements.userId, userId))
  return { customer, events, emails, subscriptions: subs, entitlement: entitlement ?? null }
}
