import { and, asc, eq, inArray, lt, ne, sql } from 'drizzle-orm'
import type { EmailWrite } from '../billing/apply-records.js'
import type { Db, Tx } from './client.js'
import { emailOutbox } from './schema.js'

export type OutboxRow = typeof emailOutbox.$inferSelect

/** Counts an attempt on a row not sent yet (a `failed` one too: a dead-letter replay tries again); null once sent. */
export async function startSending (db: Db, id: number): Promise<OutboxRow | null> {
  const [row] = await db.update(emailOutbox).set({ attempts: sql`${emailOutbox.attempts} + 1` })
    .where(and(eq(emailOutbox.id, id), ne(emailOutbox.status, 'sent'))).returning()
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
export async function pendingBefore (db: Db, cutoff: Date, limit: number): Promise<number[]> {
  const rows = await db.select({ id: emailOutbox.id }).from(emailOutbox)
    .where(and(eq(emailOutbox.status, 'pending'), lt(emailOutbox.createdAt, cutoff))).orderBy(asc(emailOutbox.id)).limit(limit)
  return rows.map(r => r.id)
}

/** One row per (event, template): a redelivered event never queues a second email. Returns new row ids. */
export async function queueEmails (tx: Tx, emails: EmailWrite[]): Promise<number[]> {
  if (emails.length === 0) return []
  const rows = await tx.insert(emailOutbox)
    .values(emails.map(e => ({ eventId: e.eventId, template: e.intent.template, userId: e.userId, to: e.to, data: e.intent.data })))
    .onConflictDoNothing().returning({ id: emailOutbox.id })
  return rows.map(r => r.id)
}

/** Outbox rows of these events still waiting for a send job: every run re-queues them (jobId dedupes). */
export async function pendingEmailsOf (db: Db, eventIds: string[]): Promise<number[]> {
  if (eventIds.length === 0) return []
  const rows = await db.select({ id: emailOutbox.id }).from(emailOutbox)
    .where(and(inArray(emailOutbox.eventId, eventIds), eq(emailOutbox.status, 'pending')))
  return rows.map(r => r.id)
}
