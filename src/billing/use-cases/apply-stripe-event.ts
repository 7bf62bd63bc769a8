import type { Redis } from 'ioredis'
import type Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import {
  bindCustomer, claimEvent, completeCheckoutSession, emailOf, eventUserOf, finishEvent, knownUserOf, lockKey,
  pendingEmailsOf, queueEmail, rememberEmail, saveEntitlement, saveSubscription, subscriptionsOf, type Tx
} from '../../db/lifecycle-repo.js'
import { faultPoint } from '../../fault-points.js'
import type { StripeEventJob } from '../../queue/policy.js'
import { queueOutboxSend } from '../../queue/processors/outbox-sweep.js'
import type { Queues } from '../../queue/queues.js'
import { toSubscriptionState } from '../../stripe/subscription-state.js'
import { currentSubscription, decideAccess } from '../access.js'
import { decideEvent, type EventDecision } from '../lifecycle.js'
import type { Catalogue } from '../plans.js'
import { invalidateEntitlements } from './read-entitlements.js'

export interface ApplyEventDeps {
  db: Db
  stripe: Stripe
  catalogue: Catalogue
  queues: Pick<Queues, 'email' | 'prices'>
  /** The entitlement read cache lives under this prefix in `redis`. */
  redis: Redis
  prefix: string
  graceDays: number
}

export interface ApplyResult {
  outcome: 'applied' | 'ignored' | 'duplicate'
  userId?: string
  note?: string
}

/**
 * An event that cannot be applied until someone fixes its data in Stripe: retrying the same job
 * fails the same way, so it goes to the dead-letter queue and its claim stays open for a replay.
 */
export class UnappliableEventError extends Error {
  constructor (readonly code: string, message: string) {
    super(message)
    this.name = 'UnappliableEventError'
  }
}

type SubscriptionDecision = Extract<EventDecision, { kind: 'subscription' }>

/**
 * Applies one Stripe event exactly once, in any order relative to the others.
 *
 * Order: the event only names a subscription; its state is re-read from Stripe while a
 * transaction-scoped lock on that subscription is held, so of two racing workers the one that reads
 * later also writes later, and every permutation of a customer's events ends with the rows Stripe's
 * current state gives. One API call per event buys that, and no reasoning about events sharing a
 * `created` second.
 *
 * Once: the claim in `stripe_events`, the subscription, the entitlement and the outbox rows commit
 * in one transaction. After commit, on every run (a duplicate included), the user's cached
 * entitlement is dropped and jobs for the email and price workers are queued (jobIds dedupe), so a
 * crash between commit and these steps is repaired by the job's retry.
 */
export function createApplyStripeEvent (deps: ApplyEventDeps) {
  async function applySubscription (tx: Tx, event: StripeEventJob['event'], decision: SubscriptionDecision): Promise<ApplyResult> {
    await lockKey(tx, 'subscription', decision.subscriptionId)
    const sub = await deps.stripe.subscriptions.retrieve(decision.subscriptionId, { expand: ['latest_invoice'] })
    const state = toSubscriptionState(sub)
    const userId = state.userId ?? decision.checkout?.userId ?? await knownUserOf(tx, state.id, state.customerId)
    if (!userId) {
      throw new UnappliableEventError('subscription_without_user', `Subscription ${state.id} (customer ${state.customerId}) names no user: ` +
        'it has no metadata.user_id and no checkout or earlier event bound it; set metadata.user_id on the subscription in Stripe, then replay this event')
    }
    // The entitlement is derived from all of the user's subscriptions: read them only after the
    // other writers of this user have committed.
    await lockKey(tx, 'user', userId)
    const plan = deps.catalogue.byLookupKey(state.lookupKey)
    await saveSubscription(tx, state, userId, plan?.id ?? null, decideAccess(state, deps.graceDays), event.created)
    if (decision.checkout) {
      await completeCheckoutSession(tx, {
        sessionId: decision.checkout.sessionId,
        userId,
        planId: decision.checkout.planId ?? plan?.id ?? state.lookupKey ?? 'unknown',
        subscriptionId: state.id,
        completedAt: event.created
      })
    }
    const current = currentSubscription(await subscriptionsOf(tx, userId))!
    await bindCustomer(tx, userId, current.row.stripeCustomerId)
    await saveEntitlement(tx, userId, current.row, current.row.planId ? deps.catalogue.byId(current.row.planId) : undefined)

    let note: string | undefined
    for (const intent of decision.emails) {
      const to = await emailOf(tx, userId) ?? await emailFromStripe(tx, userId, state.customerId)
      if (!to) { note = `no email address for ${intent.template}`; continue }
      await queueEmail(tx, event.id, userId, to, intent)
    }
    await finishEvent(tx, event.id, 'applied', userId, note ?? null)
    return { outcome: 'applied', userId, ...(note && { note }) }
  }

  /** Events carry no personal data (the api strips it), so an address missing locally comes from Stripe once. */
  async function emailFromStripe (tx: Tx, userId: string, customerId: string): Promise<string | null> {
    const customer = await deps.stripe.customers.retrieve(customerId)
    const email = customer.deleted ? null : customer.email
    if (email) await rememberEmail(tx, userId, email)
    return email
  }

  async function applyClaimed (tx: Tx, event: StripeEventJob['event'], decision: EventDecision): Promise<ApplyResult> {
    if (decision.kind === 'subscription') return applySubscription(tx, event, decision)
    const [outcome, note] = decision.kind === 'ignore' ? ['ignored', decision.reason] as const : ['applied', null] as const
    await finishEvent(tx, event.id, outcome, null, note)
    return { outcome, ...(note && { note }) }
  }

  return async function applyStripeEvent (job: StripeEventJob): Promise<ApplyResult> {
    const { event } = job
    const decision = decideEvent(event)
    const record = { id: event.id, type: event.type, created: event.created, receivedAt: new Date(job.receivedAt), payload: event }
    const result = await deps.db.transaction(async (tx): Promise<ApplyResult> => {
      if (!await claimEvent(tx, record)) return { outcome: 'duplicate' }
      const applied = await applyClaimed(tx, event, decision)
      await faultPoint('before-commit', event.id)
      return applied
    })
    if (result.outcome !== 'duplicate') await faultPoint('after-commit', event.id)
    if (decision.kind === 'subscription') {
      const userId = result.outcome === 'duplicate' ? await eventUserOf(deps.db, event.id) : result.userId
      if (userId) await invalidateEntitlements(deps.redis, deps.prefix, userId)
      for (const outboxId of await pendingEmailsOf(deps.db, event.id)) await queueOutboxSend(deps.queues.email, outboxId)
    }
    if (decision.kind === 'refresh-prices') {
      await deps.queues.prices.add('refresh', { reason: event.type }, { jobId: `refresh-${event.id}` })
    }
    return result
  }
}
