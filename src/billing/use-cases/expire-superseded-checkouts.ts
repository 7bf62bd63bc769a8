import Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { markCheckoutsExpired, openCheckoutsBefore } from '../../db/checkout-sessions-repo.js'

/**
 * A user with two open Checkout pages (two plans, two tabs) could pay both and be billed for two
 * subscriptions. Each new session therefore expires the user's sessions recorded before it that are
 * still open; of two sessions created at once, the later one survives. Stripe refuses to expire a
 * session that completed meanwhile: that payment stands, and the worker applies it.
 */
export async function expireSupersededCheckouts (deps: { db: Db, stripe: Stripe }, userId: string, keep: string): Promise<string[]> {
  const expired: string[] = []
  for (const id of await openCheckoutsBefore(deps.db, userId, keep)) {
    try {
      await deps.stripe.checkout.sessions.expire(id)
      expired.push(id)
    } catch (err) {
      if (!(err instanceof Stripe.errors.StripeInvalidRequestError)) throw err
    }
  }
  await markCheckoutsExpired(deps.db, expired)
  return expired
}
