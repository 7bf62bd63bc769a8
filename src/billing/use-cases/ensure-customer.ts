import type Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { customerIdOf, saveCustomer } from '../../db/customers-repo.js'
import { lockKey } from '../../db/lifecycle-repo.js'

/**
 * One Stripe customer per user, created at most once. Concurrent first requests serialise on a
 * per-user advisory lock and re-check the row under it; the Idempotency-Key covers a crash between
 * Stripe's answer and the commit (a retry within Stripe's 24 h gets the same customer back).
 */
export async function ensureCustomer (deps: { db: Db, stripe: Stripe }, userId: string, email: string | null): Promise<string> {
  const known = await customerIdOf(deps.db, userId)
  if (known) return known
  return await deps.db.transaction(async tx => {
    await lockKey(tx, 'customer', userId)
    const bound = await customerIdOf(tx, userId)
    if (bound) return bound
    const customer = await deps.stripe.customers.create(
      { ...(email && { email }), metadata: { user_id: userId } },
      { idempotencyKey: `tollgate-customer-${userId}` }
    )
    await saveCustomer(tx, userId, customer.id, email)
    return customer.id
  })
}
