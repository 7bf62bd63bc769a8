import { eq, sql } from 'drizzle-orm'
import type { Db } from './client.js'
import type { Tx } from './lifecycle-repo.js'
import { customers } from './schema.js'

/** The Stripe customer bound to a user, if any. */
export async function customerIdOf (db: Db | Tx, userId: string): Promise<string | null> {
  const [row] = await db.select({ id: customers.stripeCustomerId }).from(customers).where(eq(customers.userId, userId))
  return row?.id ?? null
}

/** Binds a new customer; an email already known is kept. */
export async function saveCustomer (tx: Tx, userId: string, stripeCustomerId: string, email: string | null): Promise<void> {
  await tx.insert(customers).values({ userId, stripeCustomerId, email }).onConflictDoUpdate({
    target: customers.userId,
    set: { stripeCustomerId, email: sql`coalesce(${customers.email}, excluded.email)` }
  })
}
