import { eq } from 'drizzle-orm'
import type { Db } from './client.js'
import { checkoutSessions } from './schema.js'

export type CheckoutSessionRow = typeof checkoutSessions.$inferSelect

/** A double click replays the same Stripe session, and the worker may have completed it first: keep what is there. */
export async function recordCheckoutSession (db: Db, s: { sessionId: string, userId: string, planId: string, status: string }): Promise<void> {
  await db.insert(checkoutSessions).values(s).onConflictDoNothing()
}

export async function checkoutSessionOf (db: Db, sessionId: string): Promise<CheckoutSessionRow | null> {
  const [row] = await db.select().from(checkoutSessions).where(eq(checkoutSessions.sessionId, sessionId))
  return row ?? null
}
