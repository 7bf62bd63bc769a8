import type Stripe from 'stripe'
import type { Db, Tx } from '../../db/client.js'
import { writeApplied } from '../../db/apply-writes.js'
import { customersAround, testClocksOf } from '../../db/customers-repo.js'
import { claimEvents, eventUsersOf, type EventOutcome } from '../../db/event-claims-repo.js'
import { lockKeys, tryLockKeys } from '../../db/locks.js'
import { pendingEmailsOf, type OutboxRef } from '../../db/outbox-repo.js'
import type { ProductEventRef } from '../../db/product-events-repo.js'
import { subscriptionsAround } from '../../db/subscriptions-repo.js'
import { faultPoint } from '../../fault-points.js'
import { createStripeReads, type StripeApplyReads } from '../../stripe/apply-reads.js'
import { STRIPE_API_VERSION } from '../../stripe/client.js'
import { toSubscriptionState } from '../../stripe/subscription-state.js'
import { planApply, usersOf } from '../apply-plan.js'
import { noNeeds, noReads, UnappliableEventError, type ApplyResult, type Needs, type PlanItem, type Stored, type StripeReads } from '../apply-records.js'
import { HANDLED_EVENT_TYPES } from '../handled-event-types.js'
import { decideEvent } from '../lifecycle.js'
import type { Catalogue } from '../plans.js'
import type { StripeEventJob } from '../stripe-event.js'

export { UnappliableEventError, type ApplyResult } from '../apply-records.js'

/** Work that follows a commit, through whatever carries it (Redis, queues); each step is safe to repeat. */
export interface AfterCommit {
  /** Their cached entitlements are stale. */
  entitlementsChanged: (userIds: string[]) => Promise<void>
  /** Outbox rows to send. */
  emailsWritten: (outbox: OutboxRef[]) => Promise<void>
  /** Price or product events: the price cache needs a refresh. */
  pricesChanged: (events: Array<{ id: string, type: string }>) => Promise<void>
  /** These users have product events waiting: their next ones are sent. */
  productEventsWritten: (userIds: string[]) => Promise<void>
}

export interface ApplyEventDeps {
  db: Db
  stripe: Stripe
  catalogue: Catalogue
  graceDays: number
  afterCommit: AfterCommit
}

export type Settled<T> = { ok: true, value: T } | { ok: false, error: unknown }

const HANDLED = new Set<string>(HANDLED_EVENT_TYPES)

/** Times a batch leaves a job out for a lock held elsewhere before the job waits for it. */
const MAX_DEFERRALS = 2
/** Transactions one batch may start: each one that finds it needs Stripe reads ends, the reads are made, and the next starts. */
const MAX_ATTEMPTS = 10

interface Item extends PlanItem { job: StripeEventJob }

/** What the next attempt reads beyond what the events name. */
interface Extra { users: Set<string>, clocks: Set<string> }

/**
 * The transaction found it needs reads from Stripe: it ends (rolled back, nothing written), the
 * reads are made outside it, and the batch tries again. `stored` is what the decision saw.
 */
class NeedsReads extends Error {
  constructor (readonly needs: Needs, readonly stored: Stored) { super('the batch needs Stripe reads') }
}

const NOTHING_STORED: Stored = { subscriptions: [], customers: [], testClocks: [] }

/** The locks an item's writes need: its subscription's and its user's (an event claimed already needs none). */
const keysOf = (i: Item, users: Map<PlanItem, string>): string[] => {
  const user = users.get(i)
  const userKeys = user ? [`user:${user}`] : []
  return i.decision.kind === 'subscription' ? [`subscription:${i.decision.subscriptionId}`, ...userKeys] : userKeys
}

/** One subscription's stored row, comparable. */
const rowOf = (stored: Stored, id: string) => JSON.stringify(stored.subscriptions.find(s => s.id === id) ?? null)

/**
 * Applies Stripe events exactly once each, in any order relative to one another, many in one
 * transaction (group commit: a worker hands over every event it holds at once). Read, decide,
 * write, after-commit; Stripe is never called inside the transaction or under a lock:
 *
 * - The transaction takes the locks of the subscriptions and users concerned (in one global
 *   order; a job whose keys another transaction holds is left out and offered again with the next
 *   batch), claims the events in `stripe_events` and reads the rows they concern, under the locks.
 * - The decision (src/billing/apply-plan.ts, pure) turns them into rows to write, or says which
 *   Stripe reads it needs (a subscription's state when the events cannot tell, a user named only in
 *   Stripe's metadata, an address, a test clock's time). Then the transaction ends without writing,
 *   the reads are made outside any transaction, and the batch starts again with them. A state read
 *   from Stripe is only as new as the row it was read against: when that row has moved on by the
 *   next attempt (another worker wrote it), it is read again (bounded).
 * - Otherwise the claims, states, entitlements and outbox rows commit together, in one round trip.
 * - After commit, on every run (a duplicate included): the users' cached entitlements are dropped
 *   and email and price jobs are queued through the ports passed in (jobIds dedupe), so a crash
 *   between commit and these steps is repaired by the job's retry.
 *
 * Most batches need no Stripe read and run one transaction. A payload in another API version than
 * the pinned one never decides: the object it names is read again first (`understand`). A batch
 * that fails as a whole (an event naming no user, Stripe refusing a read, a constraint) is applied
 * again one event at a time, so one bad event fails alone. Every permutation of a customer's events
 * ends with the rows in-order delivery gives (test/billing/use-cases/event-order.test.ts).
 */
export function createApplyStripeEvents (deps: ApplyEventDeps) {
  const stripeReads: StripeApplyReads = createStripeReads(deps.stripe)
  const ctx = { catalogue: deps.catalogue, graceDays: deps.graceDays }

  /**
   * The event as Tollgate may read it. A payload in another API version than the pinned one is
   * never read for what it means: the object it names is read again through the API, which answers
   * in the pinned version, and stands in for it (as the state now, never as a snapshot as of the event).
   */
  async function understand (job: StripeEventJob): Promise<Item> {
    const { event } = job
    const foreign = event.api_version !== STRIPE_API_VERSION
    let object = event.data.object
    if (foreign && HANDLED.has(event.type)) {
      const read = await stripeReads.objectOf(object).catch((err: unknown) => {
        throw new UnappliableEventError('foreign_version_unreadable', `Event ${event.id} is in API version ${String(event.api_version)}, not ${STRIPE_API_VERSION}, ` +
          `and its ${String(object.object)} ${String(object.id)} could not be read again in ${STRIPE_API_VERSION}: ${(err as Error).message}`)
      })
      if (read) object = read
    }
    const decision = decideEvent({ ...event, data: { object } })
    if (decision.kind !== 'subscription') return { job, event, decision, snapshot: null }
    const snapshot = decision.snapshot && !foreign ? toSubscriptionState(decision.snapshot as unknown as Stripe.Subscription) : null
    return { job, event, decision: foreign ? { ...decision, snapshot: null } : decision, snapshot }
  }

  /** What Postgres holds about the batch: its subscriptions and customers, and all of its users'. */
  async function readStored (db: Db | Tx, items: Item[], extra: Extra): Promise<Stored> {
    const named = (i: Item) => (i.decision.kind === 'subscription' || i.decision.kind === 'customer' ? i.decision : null)
    const keys = {
      subscriptionIds: [...new Set(items.flatMap(i => (i.decision.kind === 'subscription' ? [i.decision.subscriptionId] : [])))],
      userIds: [...new Set([...extra.users, ...items.flatMap(i => named(i)?.userId ?? [])])],
      customerIds: [...new Set(items.flatMap(i => named(i)?.customerId ?? []))]
    }
    const [subscriptions, around, clocks] = await Promise.all([subscriptionsAround(db, keys), customersAround(db, keys), testClocksOf(db, [...extra.clocks])])
    const testClocks = [...new Map([...around.testClocks, ...clocks].map(c => [c.id, c])).values()].sort((a, b) => (a.id < b.id ? -1 : 1))
    return { subscriptions, customers: around.customers, testClocks }
  }

  /**
   * One transaction for `items` (distinct events); throws when any of them cannot be applied, and
   * NeedsReads (nothing written) when the decision needs Stripe. A job whose subscription or user
   * another transaction holds is left out unless `mustWait(item)`.
   */
  async function attempt (items: Item[], mustWait: (i: Item) => boolean, reads: StripeReads, extra: Extra, basis: Map<string, string>) {
    const outcome = await deps.db.transaction(async tx => {
      // The users to lock: named by the events (nearly always), else bound in Postgres, else Stripe's.
      const unnamed = items.some(i => (i.decision.kind === 'subscription' || i.decision.kind === 'customer') && !i.decision.userId)
      const bound = unnamed ? await readStored(tx, items, extra) : NOTHING_STORED
      const lookups = noNeeds()
      const users = usersOf(items, bound, reads, lookups)
      if (lookups.subscriptions.size > 0) throw new NeedsReads(lookups, bound)
      const keys = (i: Item) => keysOf(i, users)
      const waiting = items.filter(mustWait)
      await lockKeys(tx, waiting.flatMap(keys))
      const held = new Set([...waiting.flatMap(keys), ...await tryLockKeys(tx, items.flatMap(keys))])
      const ready = items.filter(i => keys(i).every(k => held.has(k)))
      const claimOf = (i: Item): EventOutcome => ({
        id: i.event.id, outcome: i.decision.kind === 'ignore' ? 'ignored' : 'applied', userId: users.get(i) ?? null, note: i.decision.kind === 'ignore' ? i.decision.reason : null
      })
      const [claimedIds, stored] = await Promise.all([
        claimEvents(tx, ready.map(i => ({ ...claimOf(i), type: i.event.type, created: i.event.created, receivedAt: new Date(i.job.receivedAt), payload: i.event }))),
        readStored(tx, items, { users: new Set([...extra.users, ...users.values()]), clocks: extra.clocks })
      ])
      const claimed = ready.filter(i => claimedIds.has(i.event.id))
      const plan = planApply(claimed, stored, reads, ctx)
      if (plan.kind === 'read') throw new NeedsReads(plan.needs, stored)
      const stale = [...plan.fromReads].filter(id => basis.get(id) !== rowOf(stored, id))
      if (stale.length > 0) throw new NeedsReads({ ...noNeeds(), subscriptions: new Set(stale) }, stored)
      const outcomes = claimed.flatMap(i => {
        const r = plan.results.get(i.event.id)!
        const settled: EventOutcome = { id: i.event.id, outcome: r.outcome === 'ignored' ? 'ignored' : 'applied', userId: r.userId ?? null, note: r.note ?? null }
        return JSON.stringify(settled) === JSON.stringify(claimOf(i)) ? [] : [settled]
      })
      const { outboxIds, productEvents, clockUsers } = await writeApplied(tx, plan.writes, outcomes)
      if (claimed.length > 0) await faultPoint('before-commit', claimed.map(i => i.event.id).join('\n'))
      return { ready: new Set(ready), claimed: new Set(claimed), results: plan.results, outboxIds, productEvents, clockUsers }
    })
    if (outcome.claimed.size > 0) await faultPoint('after-commit', [...outcome.claimed].map(i => i.event.id).join('\n'))
    return outcome
  }

  /** Makes the reads a transaction asked for; a test clock is looked for in Postgres before Stripe. */
  async function read (err: NeedsReads, reads: StripeReads, extra: Extra, basis: Map<string, string>): Promise<void> {
    for (const id of err.needs.subscriptions) {
      reads.subscriptions.delete(id)
      basis.set(id, rowOf(err.stored, id))
    }
    const unseen = [...err.needs.testClocks].filter(c => !extra.clocks.has(c))
    for (const c of unseen) extra.clocks.add(c)
    await stripeReads.fetch({ ...err.needs, testClocks: new Set([...err.needs.testClocks].filter(c => !unseen.includes(c))) }, reads)
    // A user Stripe named brings their other subscriptions along: the entitlement is decided from all.
    for (const s of err.needs.subscriptions) {
      const user = reads.subscriptions.get(s)?.userId
      if (user) extra.users.add(user)
    }
  }

  /** Transactions for `jobs` until one commits, with Stripe reads between them as the decision asks. */
  async function applyTogether (jobs: StripeEventJob[], mustWait: (index: number) => boolean): Promise<Array<ApplyResult | undefined>> {
    const all = await Promise.all(jobs.map(understand))
    const seen = new Set<string>()
    const items = all.filter(i => !seen.has(i.event.id) && seen.add(i.event.id))
    const waits = new Set(all.filter((_, index) => mustWait(index)).map(i => i.event.id))
    const reads = noReads()
    const extra: Extra = { users: new Set(), clocks: new Set() }
    const basis = new Map<string, string>()
    // An email goes to the address as of its event, which Tollgate rarely holds (only a later
    // customer.updated stamps it): read the customer before the transaction instead of after a first one.
    const addressed = items.flatMap(i => (i.decision.kind === 'subscription' && i.decision.emails.length > 0 && i.decision.customerId ? [i.decision.customerId] : []))
    if (addressed.length > 0) await stripeReads.fetch({ ...noNeeds(), customers: new Set(addressed) }, reads)
    for (let tries = 1; ; tries++) {
      try {
        const { ready, claimed, results, outboxIds, productEvents, clockUsers } = await attempt(items, i => waits.has(i.event.id), reads, extra, basis)
        await afterCommit(all, ready, claimed, results, outboxIds, productEvents, clockUsers)
        return all.map(i => {
          const mine = items.find(x => x.event.id === i.event.id)!
          if (!ready.has(mine)) return undefined
          return claimed.has(mine) && mine === i ? results.get(i.event.id)! : { outcome: 'duplicate' }
        })
      } catch (err) {
        if (!(err instanceof NeedsReads)) throw err
        if (tries >= MAX_ATTEMPTS) throw new Error(`the batch still needed Stripe reads after ${MAX_ATTEMPTS} transactions: its rows kept changing`)
        await read(err, reads, extra, basis)
      }
    }
  }

  /** Repairs after commit, on every run: a crash before them is made good by the retry. */
  async function afterCommit (all: Item[], ready: Set<Item>, claimed: Set<Item>, results: Map<string, ApplyResult>, outboxIds: OutboxRef[], productEvents: ProductEventRef[], clockUsers: string[]) {
    const readyIds = new Set([...ready].map(i => i.event.id))
    const claimedIds = new Set([...claimed].map(i => i.event.id))
    const duplicates = all.filter(i => readyIds.has(i.event.id) && !claimedIds.has(i.event.id))
    const users = new Set([...[...claimed].flatMap(i => results.get(i.event.id)?.userId ?? []), ...clockUsers])
    const duplicateUsers = await eventUsersOf(deps.db, duplicates.map(i => i.event.id))
    for (const userId of duplicateUsers) users.add(userId)
    // A duplicate may be the retry of a run that committed and died before this step: its users' events go now.
    const eventUsers = new Set([...productEvents.map(e => e.userId), ...duplicateUsers])
    const emailing = duplicates.flatMap(i => (i.decision.kind === 'subscription' ? i.decision.emails.map(e => e.once ?? i.event.id) : []))
    await Promise.all([
      deps.afterCommit.entitlementsChanged([...users]),
      deps.afterCommit.emailsWritten([...outboxIds, ...await pendingEmailsOf(deps.db, emailing)]),
      eventUsers.size > 0 ? deps.afterCommit.productEventsWritten([...eventUsers]) : undefined,
      deps.afterCommit.pricesChanged(all.filter(i => readyIds.has(i.event.id) && i.decision.kind === 'refresh-prices').map(i => ({ id: i.event.id, type: i.event.type })))
    ])
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
