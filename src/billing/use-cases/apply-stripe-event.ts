import type Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import {
  bindCustomers, claimEvents, completeCheckoutSessions, emailsOf, eventUsersOf, knownUsersOf, lockKeys, noteEvents, tryLockKeys,
  pendingEmailsOf, queueEmails, saveEntitlements, saveSubscriptions, subscriptionRow, subscriptionRowsOf,
  type CheckoutCompletion, type EmailWrite, type SubscriptionRow, type Tx
} from '../../db/lifecycle-repo.js'
import { faultPoint } from '../../fault-points.js'
import type { StripeEventJob } from '../../queue/policy.js'
import { queueOutboxSend } from '../../queue/processors/outbox-sweep.js'
import type { Queues } from '../../queue/queues.js'
import { toSubscriptionState } from '../../stripe/subscription-state.js'
import { currentSubscription, decideAccess, type SubscriptionState } from '../access.js'
import { decideEvent, type EventDecision, type SubscriptionDecision } from '../lifecycle.js'
import type { Catalogue, Plan } from '../plans.js'
import { invalidateEntitlementsOf } from './read-entitlements.js'
import type { RedisClient } from '../../queue/connections.js'

export interface ApplyEventDeps {
  db: Db
  stripe: Stripe
  catalogue: Catalogue
  queues: Pick<Queues, 'email' | 'prices'>
  /** The entitlement read cache lives under this prefix in `redis`. */
  redis: RedisClient
  prefix: string
  graceDays: number
}

export interface ApplyResult {
  outcome: 'applied' | 'ignored' | 'duplicate'
  userId?: string
  note?: string
}

export type Settled<T> = { ok: true, value: T } | { ok: false, error: unknown }

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

type Event = StripeEventJob['event']
interface Item { job: StripeEventJob, event: Event, decision: EventDecision }
interface SubItem extends Item { decision: SubscriptionDecision }

interface Writes {
  subscriptions: SubscriptionRow[]
  checkouts: CheckoutCompletion[]
  bindings: Array<{ userId: string, customerId: string, email?: string | null }>
  entitlements: Array<{ userId: string, sub: SubscriptionRow, plan: Plan | undefined }>
  emails: EmailWrite[]
}

/** Times a batch leaves a job out for a lock held elsewhere before the job waits for it. */
const MAX_DEFERRALS = 2

const isSubscription = (i: Item): i is SubItem => i.decision.kind === 'subscription'
const maxCreated = (items: Item[]) => items.reduce((m, i) => Math.max(m, i.event.created), -Infinity)

/**
 * Applies Stripe events exactly once each, in any order relative to one another, many in one
 * transaction (group commit: a worker hands over every event it holds at once).
 *
 * Order, a stale-write guard on Stripe time: each subscription row keeps the `created` of the event
 * its state is as of (`stripe_time`). A `customer.subscription.*` event carries the whole subscription;
 * its snapshot is written when it is newer than the stored one and dropped when older. When the
 * guard cannot tell (two events of one subscription in the same second, the stored state as of the
 * same second, a `past_due` snapshot whose grace start needs the open invoice, an event that carries
 * no state for a subscription Tollgate has not stored, an operator's sync), the subscription is
 * re-read from Stripe: that is the truth now, as new as any event in hand. Everything runs under
 * transaction locks on the subscriptions and users concerned, taken in one global order, so of two
 * racing workers the one that decides later also writes later. Every permutation of a customer's
 * events ends with the rows in-order delivery gives (test/billing/use-cases/event-order.test.ts).
 *
 * Once: the claims in `stripe_events`, the subscriptions, entitlements and outbox rows commit in one
 * transaction. After commit, on every run (a duplicate included), the users' cached entitlements are
 * dropped and jobs for the email and price workers are queued (jobIds dedupe), so a crash between
 * commit and these steps is repaired by the job's retry.
 *
 * A batch that fails as a whole (an event naming no user, Stripe refusing a read, a constraint)
 * is applied again one event at a time, so one bad event fails alone.
 */
export function createApplyStripeEvents (deps: ApplyEventDeps) {
  async function retrieve (subscriptionId: string): Promise<Stripe.Subscription> {
    return deps.stripe.subscriptions.retrieve(subscriptionId, { expand: ['latest_invoice'] })
  }

  /** The user of each subscription: named by its events, bound earlier, or as Stripe's metadata says. */
  async function usersOf (tx: Tx, items: SubItem[]): Promise<Map<string, string>> {
    const users = new Map<string, string>()
    // Stripe's own metadata first, the checkout's client_reference_id after it.
    for (const i of [...items.filter(i => !i.decision.checkout), ...items.filter(i => i.decision.checkout)]) {
      if (i.decision.userId && !users.has(i.decision.subscriptionId)) users.set(i.decision.subscriptionId, i.decision.userId)
    }
    const unnamed = items.filter(i => !users.has(i.decision.subscriptionId))
    if (unnamed.length === 0) return users
    const known = await knownUsersOf(tx, unnamed.map(i => i.decision.subscriptionId), unnamed.flatMap(i => i.decision.customerId ?? []))
    for (const i of unnamed) {
      const id = i.decision.subscriptionId
      const userId = known.bySubscription.get(id) ?? (i.decision.customerId ? known.byCustomer.get(i.decision.customerId) : undefined)
      if (userId && !users.has(id)) users.set(id, userId)
    }
    for (const i of unnamed) {
      const id = i.decision.subscriptionId
      if (users.has(id)) continue
      const sub = await deps.stripe.subscriptions.retrieve(id)
      const userId = sub.metadata?.user_id
      if (!userId) {
        throw new UnappliableEventError('subscription_without_user', `Subscription ${id} (customer ${String(i.decision.customerId)}) names no user: ` +
          'it has no metadata.user_id and no checkout or earlier event bound it; set metadata.user_id on the subscription in Stripe, then replay this event')
      }
      users.set(id, userId)
    }
    return users
  }

  /** The state to write for one subscription, or null when its events hold nothing newer than the row. */
  async function stateToWrite (items: SubItem[], row: SubscriptionRow | undefined): Promise<{ state: SubscriptionState, stripeTime: number } | null> {
    const stored = row?.stripeTime ?? -Infinity
    const synced = items.some(i => !i.decision.snapshot && i.event.type.startsWith('customer.subscription.'))
    const snapshots = items.filter(i => i.decision.snapshot)
    if (!synced && snapshots.length > 0) {
      const newest = maxCreated(snapshots)
      if (newest < stored) return null
      const top = snapshots.filter(i => i.event.created === newest)
      if (newest > stored && top.length === 1) {
        const state = toSubscriptionState(top[0]!.decision.snapshot as unknown as Stripe.Subscription)
        if (state.status !== 'past_due') return { state, stripeTime: newest }
      }
    } else if (!synced && row) {
      return null
    }
    const sub = await retrieve(items[0]!.decision.subscriptionId)
    return { state: toSubscriptionState(sub), stripeTime: Math.max(maxCreated(items), stored) }
  }

  /**
   * Decides what the claimed subscription events write; their subscriptions and users are locked
   * already. Reads take one round trip (the rows and addresses); the writes it returns are issued
   * together by the caller.
   */
  async function planSubscriptions (tx: Tx, items: SubItem[], userOf: Map<string, string>): Promise<{ results: Map<string, ApplyResult>, writes: Writes }> {
    const results = new Map<string, ApplyResult>()
    const writes: Writes = { subscriptions: [], checkouts: [], bindings: [], entitlements: [], emails: [] }
    if (items.length === 0) return { results, writes }
    const bySub = new Map<string, SubItem[]>()
    for (const i of items) bySub.set(i.decision.subscriptionId, [...(bySub.get(i.decision.subscriptionId) ?? []), i])
    const userIds = [...new Set(items.map(i => userOf.get(i.decision.subscriptionId)!))]

    // The entitlement is derived from all of a user's subscriptions: read them under the users' locks.
    const emailing = [...new Set(items.filter(i => i.decision.emails.length > 0).map(i => userOf.get(i.decision.subscriptionId)!))]
    const [stored, addresses] = await Promise.all([subscriptionRowsOf(tx, userIds, [...bySub.keys()]), emailsOf(tx, emailing)])
    const rows = new Map(stored.map(r => [r.stripeSubscriptionId, r]))
    const now = new Date()
    await Promise.all([...bySub].map(async ([subscriptionId, subItems]) => {
      const next = await stateToWrite(subItems, rows.get(subscriptionId))
      if (!next) return
      const plan = deps.catalogue.byLookupKey(next.state.lookupKey)
      const write = { ...next, userId: userOf.get(subscriptionId)!, planId: plan?.id ?? null, decision: decideAccess(next.state, deps.graceDays) }
      const row = subscriptionRow(write, rows.get(subscriptionId), now)
      rows.set(subscriptionId, row)
      writes.subscriptions.push(row)
    }))

    writes.checkouts = items.flatMap(({ decision: d, event }) => (d.checkout
      ? [{ sessionId: d.checkout.sessionId, userId: userOf.get(d.subscriptionId)!, planId: d.checkout.planId ?? rows.get(d.subscriptionId)?.planId ?? 'unknown', subscriptionId: d.subscriptionId, completedAt: event.created }]
      : []))
    for (const userId of userIds) {
      const subs = [...rows.values()].filter(r => r.userId === userId).map(row => ({
        id: row.stripeSubscriptionId, status: row.status, access: row.access, currentPeriodEnd: row.currentPeriodEnd ? row.currentPeriodEnd.getTime() / 1000 : null, row
      }))
      // None when the user's only subscription is stored under another user (its metadata changed).
      const sub = currentSubscription(subs)?.row
      if (!sub) continue
      writes.bindings.push({ userId, customerId: sub.stripeCustomerId })
      writes.entitlements.push({ userId, sub, plan: sub.planId ? deps.catalogue.byId(sub.planId) : undefined })
    }

    const fetched = new Map<string, string>()
    for (const { event, decision } of items) {
      const userId = userOf.get(decision.subscriptionId)!
      let note: string | undefined
      for (const intent of decision.emails) {
        // Events carry no personal data (the api strips it): an address missing locally comes from Stripe once.
        let to = addresses.get(userId)
        if (!to) {
          const customer = await deps.stripe.customers.retrieve(rows.get(decision.subscriptionId)!.stripeCustomerId)
          to = (!customer.deleted && customer.email) || undefined
          if (to) fetched.set(userId, to)
        }
        if (!to) { note = `no email address for ${intent.template}`; continue }
        addresses.set(userId, to)
        writes.emails.push({ eventId: event.id, userId, to, intent })
      }
      results.set(event.id, { outcome: 'applied', userId, ...(note && { note }) })
    }
    for (const b of writes.bindings) b.email = fetched.get(b.userId) ?? null
    return { results, writes }
  }

  /**
   * One transaction for `jobs`; throws when any of them cannot be applied. A job whose subscription
   * or user another transaction holds is left out (undefined) when `waitFor(job)` is false: the
   * caller offers it again with the next batch instead of making the whole batch wait.
   */
  async function applyTogether (jobs: StripeEventJob[], waitFor: (index: number) => boolean): Promise<Array<ApplyResult | undefined>> {
    const items: Item[] = jobs.map(job => ({ job, event: job.event, decision: decideEvent(job.event) }))
    const { ready, claimed, results, outboxIds } = await deps.db.transaction(async (tx) => {
      const userOf = await usersOf(tx, items.filter(isSubscription))
      const keysOf = (i: Item) => (isSubscription(i) ? [`subscription:${i.decision.subscriptionId}`, `user:${userOf.get(i.decision.subscriptionId)!}`] : [])
      const waiting = items.filter((_, index) => waitFor(index))
      await lockKeys(tx, waiting.flatMap(keysOf))
      const held = new Set([...waiting.flatMap(keysOf), ...await tryLockKeys(tx, items.flatMap(keysOf))])
      const ready = items.filter(i => keysOf(i).every(k => held.has(k)))

      const claimedIds = await claimEvents(tx, ready.map(({ event, job, decision }) => ({
        id: event.id,
        type: event.type,
        created: event.created,
        receivedAt: new Date(job.receivedAt),
        payload: event,
        outcome: decision.kind === 'ignore' ? 'ignored' : 'applied',
        userId: decision.kind === 'subscription' ? userOf.get(decision.subscriptionId)! : null,
        note: decision.kind === 'ignore' ? decision.reason : null
      })))
      const seen = new Set<string>()
      const claimed = ready.filter(i => claimedIds.has(i.event.id) && !seen.has(i.event.id) && seen.add(i.event.id))
      const { results, writes } = await planSubscriptions(tx, claimed.filter(isSubscription), userOf)
      for (const { event, decision } of claimed) {
        if (decision.kind === 'ignore') results.set(event.id, { outcome: 'ignored', note: decision.reason })
        if (decision.kind === 'refresh-prices') results.set(event.id, { outcome: 'applied' })
      }
      // One round trip for every write of the batch: they touch different rows, and the transaction
      // commits all or none of them.
      const [outboxIds] = await Promise.all([
        queueEmails(tx, writes.emails),
        saveSubscriptions(tx, writes.subscriptions),
        completeCheckoutSessions(tx, writes.checkouts),
        bindCustomers(tx, writes.bindings),
        saveEntitlements(tx, writes.entitlements),
        noteEvents(tx, claimed.flatMap(({ event, decision }) => {
          const note = results.get(event.id)?.note
          return decision.kind === 'subscription' && note ? [{ id: event.id, note }] : []
        }))
      ])
      if (claimed.length > 0) await faultPoint('before-commit', claimed.map(i => i.event.id).join('\n'))
      return { ready: new Set(ready), claimed: new Set(claimed), results, outboxIds }
    })
    if (claimed.size > 0) await faultPoint('after-commit', [...claimed].map(i => i.event.id).join('\n'))

    // Repairs after commit, on every run: a crash before them is made good by the retry.
    const duplicates = items.filter(i => ready.has(i) && !claimed.has(i))
    const users = new Set([...results.values()].flatMap(r => r.userId ?? []))
    for (const userId of await eventUsersOf(deps.db, duplicates.filter(isSubscription).map(i => i.event.id))) users.add(userId)
    const emailDuplicates = duplicates.filter(i => isSubscription(i) && i.decision.emails.length > 0).map(i => i.event.id)
    await Promise.all([
      invalidateEntitlementsOf(deps.redis, deps.prefix, [...users]),
      ...[...outboxIds, ...await pendingEmailsOf(deps.db, emailDuplicates)].map(id => queueOutboxSend(deps.queues.email, id)),
      ...[...ready].filter(i => i.decision.kind === 'refresh-prices')
        .map(i => deps.queues.prices.add('refresh', { reason: i.event.type }, { jobId: `refresh-${i.event.id}` }))
    ])
    return items.map(i => (!ready.has(i) ? undefined : claimed.has(i) ? results.get(i.event.id)! : { outcome: 'duplicate' }))
  }

  /**
   * Applies a batch; `tries[i]` counts how often job i was left out for a lock another worker held.
   * After MAX_DEFERRALS it waits for the lock like a lone event. Undefined = offer it again later.
   */
  return async function applyStripeEvents (jobs: StripeEventJob[], tries: number[] = []): Promise<Array<Settled<ApplyResult> | undefined>> {
    try {
      return (await applyTogether(jobs, i => (tries[i] ?? 0) >= MAX_DEFERRALS)).map(value => (value && { ok: true, value }))
    } catch (error) {
      if (jobs.length === 1) return [{ ok: false, error }]
      const settled: Array<Settled<ApplyResult>> = []
      for (const job of jobs) {
        try {
          settled.push({ ok: true, value: (await applyTogether([job], () => true))[0]! })
        } catch (err) {
          settled.push({ ok: false, error: err })
        }
      }
      return settled
    }
  }
}

/** Applies one event in a transaction of its own (the checkout-status route, an operator's sync). */
export function createApplyStripeEvent (deps: ApplyEventDeps) {
  const applyMany = createApplyStripeEvents(deps)
  return async function applyStripeEvent (job: StripeEventJob): Promise<ApplyResult> {
    const [result] = await applyMany([job], [MAX_DEFERRALS])
    if (!result!.ok) throw result!.error
    return result!.value
  }
}
