import { bindNewCustomer } from '../../../src/db/customers-repo.js'
import { createCheckout, type CheckoutRequest } from '../../../src/billing/use-cases/create-checkout.js'
import { readEntitlements } from '../../../src/billing/use-cases/read-entitlements.js'
import type { StripeEventJob } from '../../../src/queue/policy.js'
import { waitFor } from '../../helpers/env.js'
import { lifecycleEnv } from './lifecycle-helpers.js'

type T = { teardown: (fn: () => unknown) => void }

export const DAY = 86_400
/** Test clocks start here: a fixed moment, so that dates in emails are known. */
export const T0 = Date.UTC(2030, 0, 15, 12) / 1000

/**
 * Tollgate's billing path on a fresh database, against an emulator whose customers live on Stripe
 * test clocks: checkout through the use case, the customer paying on the page, time moved by the
 * clock, and every event Stripe emits applied as the worker would.
 */
export async function clockEnv (t: T, env: Record<string, string> = {}) {
  const base = await lifecycleEnv(t, env)
  const { deps, em, newEvents, apply } = base

  /** Applies what Stripe emitted since the last call, in order; `only` picks some, and the others are answered unapplied. */
  async function applyNew (only: (j: StripeEventJob) => boolean = () => true) {
    const jobs = await newEvents()
    for (const job of jobs.filter(only)) await apply(job)
    return { jobs, held: jobs.filter(j => !only(j)) }
  }

  /** A user whose Stripe customer lives on a test clock of their own, bound as ensureCustomer binds one. */
  async function userOnClock (userId: string) {
    const clock = await deps.stripe.testHelpers.testClocks.create({ frozen_time: T0 })
    const customer = await deps.stripe.customers.create({ email: `${userId}@example.test`, test_clock: clock.id, metadata: { user_id: userId } })
    await bindNewCustomer(deps.db, { userId, customerId: customer.id, email: customer.email, testClock: clock.id })
    return { clockId: clock.id, customerId: customer.id }
  }

  /** create-checkout, then the customer on Stripe's page; answers the session as Stripe completed it. */
  async function checkout (req: CheckoutRequest, page: Record<string, unknown> = { outcome: 'paid' }) {
    const { session_id: sessionId } = await createCheckout(deps, req)
    const done = await em.control(`checkout/${sessionId}/complete`, page)
    return { sessionId, subscriptionId: done.subscription as string }
  }

  /** Moves a clock (Stripe answers `advancing`; its work is done once `ready`). */
  async function advance (clockId: string, frozenTime: number) {
    await deps.stripe.testHelpers.testClocks.advance(clockId, { frozen_time: frozenTime })
    await waitFor(async () => (await deps.stripe.testHelpers.testClocks.retrieve(clockId)).status === 'ready', `clock ${clockId} to be ready`)
  }

  const read = async (userId: string) => await readEntitlements({ db: deps.db, redis: deps.redis, prefix: base.config.QUEUE_PREFIX, ttlSeconds: 300 }, userId)

  return { ...base, applyNew, userOnClock, checkout, advance, read, apply }
}
