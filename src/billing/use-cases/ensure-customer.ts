import type Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { bindNewCustomer, customerIdOf } from '../../db/customers-repo.js'

/** First requests for one user in this process share one creation. */
const inFlight = new Map<string, Promise<string>>()

/**
 * One Stripe customer per user, created at most once, with no transaction or lock held across the
 * Stripe call: the create carries an idempotency key derived from the user, so concurrent first
 * requests (in any process) and a retry after a crash get the same customer back from Stripe, and
 * the binding is an insert that the user's primary key and the unique customer id keep single.
 */
export async function ensureCustomer (deps: { db: Db, stripe: Stripe }, userId: string, email: string | null, testClock: string | null = null): Promise<string> {
  const known = await customerIdOf(deps.db, userId)
  if (known) return known
  const running = inFlight.get(userId)
  if (running) return await running
  const creating = (async () => {
    const customer = await deps.stripe.customers.create(
      { ...(email && { email }), ...(testClock && { test_clock: testClock }), metadata: { user_id: userId } },
      { idempotencyKey: `tollgate-customer-${userId}${testClock ? `-${testClock}` : ''}` }
    )
    const clock = customer.test_clock
    return await bindNewCustomer(deps.db, { userId, customerId: customer.id, email, testClock: typeof clock === 'string' ? clock : clock?.id ?? null })
  })()
  inFlight.set(userId, creating)
  try {
    return await creating
  } finally {
    inFlight.delete(userId)
  }
}
