import { and, asc, eq, inArray, lt, min, ne, sql } from 'drizzle-orm'
import type { EmailWrite } from '../billing/apply-records.js'
import type { Db, Tx } from './client.js'
import { emailOutbox } from './schema.js'

export type OutboxRow = typeof emailOutbox.$inferSelect

/** What a send job names: the row, and its random key so that a job never matches a later row of the same id. */
export interface OutboxRef { id: number, key: string }

/** Columns that read an OutboxRef in a select or a returning clause. */
export const outboxRefColumns = { id: emailOutbox.id, key: emailOutbox.jobKey }

/**
 * Counts an attempt on a row not sent yet (a `failed` one too: a dead-letter replay tries again);
 * null once sent, or when this database has no such row (`key` guards against another database's job).
 */
export async function startSending (db: Db, id: number, key?: string): Promise<OutboxRow | null> {
  const [row] = await db.update(emailOutbox).set({ attempts: sql`${emailOutbox.attempts} + 1` })
    .where(and(eq(emailOutbox.id, id), ne(emailOutbox.status, 'sent'), key === undefined ? undefined : eq(emailOutbox.jobKey, key))).returning()
  return row ?? null
}

export async function markSent (db: Db, id: number): Promise<void> {
  await db.update(emailOutbox).set({ status: 'sent', sentAt: new Date(), lastError: null }).where(eq(emailOutbox.id, id))
}

/** Keeps the error; `giveUp` ends the row's life as `failed` (the job is then in the dead-letter queue). */
export async function markAttemptFailed (db: Db, id: number, error: string, giveUp: boolean): Promise<void> {
  await db.update(emailOutbox).set({ lastError: error, ...(giveUp && { status: 'failed' as const }) }).where(eq(emailOutbox.id, id))
}

/** Rows still waiting to be sent that were written before `cutoff`, oldest first. */
export async function pendingBefore (db: Db, cutoff: Date, limit: number): Promise<OutboxRef[]> {
  return await db.select(outboxRefColumns).from(emailOutbox)
    .where(and(eq(emailOutbox.status, 'pending'), lt(emailOutbox.createdAt, cutoff))).orderBy(asc(emailOutbox.id)).limit(limit)
}

/** When the oldest row still waiting to be sent was written; null when none waits. */
export async function oldestPendingAt (db: Db): Promise<Date | null> {
  const [row] = await db.select({ at: min(emailOutbox.createdAt) }).from(emailOutbox).where(eq(emailOutbox.status, 'pending'))
  return row?.at ?? null
}

/** One row per (event, template): a redelivered event never queues a second email. Returns the new rows. */
export async function queueEmails (tx: Tx, emails: EmailWrite[]): Promise<OutboxRef[]> {
  if (emails.length === 0) return []
  return await tx.insert(emailOutbox)
    .values(emails.map(e => ({ eventId: e.eventId, template: e.intent.template, userId: e.userId, to: e.to, data: e.intent.data })))
    .onConflictDoNothing().returning(outboxRefColumns)
}

/** Outbox rows of these events still waiting for a send job: every run re-queues them (jobId dedupes). */
export async function pendingEmailsOf (db: Db, eventIds: string[]): Promise<OutboxRef[]> {
  if (eventIds.length === 0) return []
  return await db.select(outboxRefColumns).from(emailOutbox)
    .where(and(inArray(emailOutbox.eventId, eventIds), eq(emailOutbox.status, 'pending')))
}
