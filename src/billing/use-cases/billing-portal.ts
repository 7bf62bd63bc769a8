import { customerIdOf } from '../../db/customers-repo.js'
import { AppError } from '../../errors.js'
import { portalReturnUrl } from '../app-links.js'
import type { SubscriptionCommandDeps } from './change-plan.js'

/** A Stripe-hosted portal session for the user's customer; it returns to the product's billing page. */
export async function billingPortal (deps: Pick<SubscriptionCommandDeps, 'db' | 'stripe' | 'config'>, userId: string): Promise<{ url: string }> {
  const customer = await customerIdOf(deps.db, userId)
  if (!customer) throw new AppError(404, 'no_customer', `User ${userId} has no billing account yet; start one with POST /api/v1/create-checkout`)
  const session = await deps.stripe.billingPortal.sessions.create({ customer, return_url: portalReturnUrl(deps.config.APP_URL) })
  return { url: session.url }
}
