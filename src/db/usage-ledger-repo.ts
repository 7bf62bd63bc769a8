import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Db, Tx } from './client.js'
import { customers, usageLedger } from './schema.js'

export type LedgerEntry = typeof usageLedger.$inferInsert

const json = (rows: LedgerEntry[]) => JSON.stringify(rows.map(r => ({
  entry_id: r.entryId, user_id: r.userId, metric: r.metric, window_start: r.windowStart, quantity: r.quantity, idempotency_key: r.idempotencyKey ?? null, created_at: r.createdAt
})))

/** Writes a batch in one statement; an entry already written (a drain run twice) is skipped. */
export async function appendLedger (db: Db | Tx, rows: LedgerEntry[]): Promise<void> {
  if (rows.length === 0) return
  await db.execute(sql`insert into usage_ledger select * from jsonb_populate_recordset(null::usage_ledger, ${json(rows)}::jsonb) on conflict (entry_id) do nothing`)
}

/** What the ledger holds of one user's metric in one window. */
export async function ledgerTotal (db: Db, userId: string, metric: string, windowStart: number): Promise<number> {
  const [row] = await db.select({ total: sql<string | null>`sum(${usageLedger.quantity})` }).from(usageLedger)
    .where(and(eq(usageLedger.userId, userId), eq(usageLedger.metric, metric), eq(usageLedger.windowStart, windowStart)))
  return Number(row?.total ?? 0)
}

/** Which of these entries the ledger holds already. */
export async function ledgerHas (db: Db, entryIds: string[]): Promise<Set<string>> {
  if (entryIds.length === 0) return new Set()
  const rows = await db.select({ id: usageLedger.entryId }).from(usageLedger).where(inArray(usageLedger.entryId, entryIds))
  return new Set(rows.map(r => r.id))
}

/** The email addresses of these users' customers, by user; users without one are left out. */
export async function emailsOf (db: Db | Tx, userIds: string[]): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map()
  const rows = await db.select({ userId: customers.userId, email: customers.email }).from(customers).where(inArray(customers.userId, userIds))
  return new Map(rows.flatMap(r => (r.email ? [[r.userId, r.email] as const] : [])))
}
