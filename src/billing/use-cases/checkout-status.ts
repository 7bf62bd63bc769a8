import Stripe from 'stripe'
import { checkoutSessionOf, type CheckoutSessionRow } from '../../db/checkout-sessions-repo.js'
import { entitlementOf } from '../../db/entitlements-repo.js'
import { AppError } from '../../errors.js'
import { toEventJob } from '../../stripe/webhook.js'
import { hostClock, type Clock } from '../clock.js'
import { toEntitlement } from '../entitlement-view.js'
import { createApplyStripeEvent, type ApplyEventDeps } from './apply-stripe-event.js'
import { toSnapshot } from './read-entitlements.js'

export interface CheckoutStatus {
  session_id: string
  status: string
  user_id: string
  plan_id: string | null
  provisioned: boolean
}

/** Completion events scanned, newest first, for the session's own: it completed moments ago. */
const MAX_EVENTS_SCANNED = 500

/**
 * The success page's question, "am I provisioned yet?": yes once the checkout is complete (paid, or
 * its asynchronous payment succeeded) and the user has access now. The customer can land there
 * before Stripe's webhook does; when Stripe says the session is complete and the worker has not
 * applied it yet, the session's own `checkout.session.completed` event is fetched from Stripe and
 * applied here through the worker's use case (which reads an event of another API version again
 * in the pinned one). The event id is the idempotency claim, so when the webhook arrives (or a
 * worker races this request) it finds the event done and nothing happens twice.
 */
export function createCheckoutStatus (deps: ApplyEventDeps & { now?: Clock }) {
  const apply = createApplyStripeEvent(deps)

  async function retrieve (sessionId: string): Promise<Stripe.Checkout.Session> {
    try {
      return await deps.stripe.checkout.sessions.retrieve(sessionId)
    } catch (err) {
      if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404) throw unknownSession(sessionId)
      throw err
    }
  }

  async function completedEventOf (session: Stripe.Checkout.Session): Promise<Stripe.Event | null> {
    let scanned = 0
    for await (const event of deps.stripe.events.list({ type: 'checkout.session.completed', created: { gte: session.created }, limit: 100 })) {
      if ((event.data.object as { id?: string }).id === session.id) return event
      if (++scanned >= MAX_EVENTS_SCANNED) break
    }
    return null
  }

  async function view (row: CheckoutSessionRow): Promise<CheckoutStatus> {
    const access = row.status === 'complete' && toEntitlement(row.userId, toSnapshot(await entitlementOf(deps.db, row.userId)), deps.now ?? hostClock).access
    return { session_id: row.sessionId, status: row.status, user_id: row.userId, plan_id: row.planId, provisioned: access }
  }

  return async function checkoutStatus (sessionId: string): Promise<CheckoutStatus> {
    const row = await checkoutSessionOf(deps.db, sessionId)
    if (row && row.status !== 'open') return await view(row)
    const session = await retrieve(sessionId)
    const userId = row?.userId ?? session.client_reference_id ?? session.metadata?.user_id
    if (!userId) throw unknownSession(sessionId)
    if (session.status === 'complete') {
      const event = await completedEventOf(session)
      if (event) {
        await apply(toEventJob(event))
        const done = await checkoutSessionOf(deps.db, sessionId)
        if (done && done.status !== 'open') return await view(done)
      }
    }
    return {
      session_id: sessionId,
      status: session.status ?? 'open',
      user_id: userId,
      plan_id: row?.planId ?? session.metadata?.plan_id ?? null,
      provisioned: false
    }
  }
}

function unknownSession (sessionId: string): AppError {
  return new AppError(404, 'not_found', `No checkout session ${sessionId}`)
}
