import { eq } from 'drizzle-orm'
import type { Db } from './client.js'
import { entitlements } from './schema.js'

export type EntitlementRow = typeof entitlements.$inferSelect

export async function entitlementOf (db: Db, userId: string): Promise<EntitlementRow | null> {
  const [row] = await db.select().from(entitlements).where(eq(entitlements.userId, userId))
  return row ?? null
}
