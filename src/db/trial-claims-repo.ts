import { eq, or } from 'drizzle-orm'
import type { TrialClaim } from '../billing/apply-records.js'
import type { Db, Tx } from './client.js'
import { trialClaims } from './schema.js'
import { at, lastPerKey } from './upsert.js'

/** Whether this user, or whoever holds this Stripe customer, has had their trial. */
export async function hadTrial (db: Db, userId: string, customerId: string | null): Promise<boolean> {
  const [row] = await db.select({ userId: trialClaims.userId }).from(trialClaims)
    .where(customerId ? or(eq(trialClaims.userId, userId), eq(trialClaims.stripeCustomerId, customerId)) : eq(trialClaims.userId, userId)).limit(1)
  return row !== undefined
}

/** The first trial of a user stays theirs: later ones (and replays) leave the row as it is. */
export async function saveTrialClaims (tx: Tx, claims: TrialClaim[]): Promise<void> {
  if (claims.length === 0) return
  await tx.insert(trialClaims).values(lastPerKey(claims, c => c.userId).map(c => ({
    userId: c.userId, stripeCustomerId: c.customerId, stripeSubscriptionId: c.subscriptionId, trialEnd: at(c.trialEnd)
  }))).onConflictDoNothing()
}
