import type Stripe from 'stripe'
import type { Db, Tx } from '../../db/client.js'
import { writeApplied } from '../../db/apply-writes.js'
import { customersAround, testClocksOf } from '../../db/customers-repo.js'
import { claimEvents, eventUsersOf, settledEventIds, type EventOutcome } from '../../db/event-claims-repo.js'
import { lockKeys, tryLockKeys } from '../../db/locks.js'
import { pendingEmailsOf } from '../../db/outbox-repo.js'
import { subscriptionsAround } from '../../db/subscriptions-repo.js'
import { faultPoint } from '../../fault-points.js'
import { createStripeReads, type StripeApplyReads } from '../../stripe/apply-reads.js'
import { STRIPE_API_VERSION } from '../../stripe/client.js'
import { toSubscriptionState } from '../../stripe/subscription-state.js'
import { planApply } from '../apply-plan.js'
import { noReads, UnappliableEventError, type ApplyResult, type PlanItem, type Stored, type StripeReads } from '../apply-records.js'
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
  emailsWritten: (outboxIds: number[]) => Promise<void>
  /** Price or product events: the price cache needs a refresh. */
  pricesChanged: (events: Array<{ id: string, type: string }>) => Promise<void>
}

export interface ApplyEventDeps {
  db: Db
  stripe: Stripe
  catalogue: Catalogue
  graceDays: number
  afterCommit: AfterCommit
}

export type Settled<T> = { ok: true, value: T } | { ok: false, error: unknown }

/** Times a batch leaves a job out for a lock held elsewhere before the job waits for it. */
const MAX_DEFERRALS = 2
/** Times a batch reads again because the rows it decided from changed before it could write. */
const MAX_ATTEMPTS = 10
/** Rounds of reads one decision may ask for (users and clocks from Postgres; states, addresses and clocks from Stripe). */
const MAX_READ_ROUNDS = 8

const HANDLED = new Set<string>(HANDLED_EVENT_TYPES)

interface Item extends PlanItem {
  job: StripeEventJob
  /** The event's object read again in the pinned API version, when the payload is in another one. */
  reread: Record<string, unknown> | null
}

interface Extra { users: Set<string>, clocks: Set<string> }

/** Another transaction changed the rows this batch decided from: read again. */
class MovedOn extends Error {}

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
 * transaction (group commit: a worker hands over every event it holds at once). Four steps:
 *
 * 1. Read, outside any transaction and lock: what Postgres holds about the batch, and from Stripe
 *    what the decision asks for (a subscription's state, an address, a test clock's time; the whole
 *    object again when the payload is in another API version than the pinned one).
 * 2. Decide (src/billing/apply-plan.ts, pure): the rows to write.
 * 3. Write, in one short transaction: take the locks of the subscriptions and users concerned (in
 *    one global order), claim the events in `stripe_events`, read the rows again and decide again
 *    from them, so of two racing workers the one that decides later also writes later. A state read
 *    from Stripe in step 1 is only as new as the row it was read against: when that row moved on
 *    (another worker wrote it), nothing is written and the batch starts over from step 1 (bounded).
 *    Otherwise the claims, states, entitlements and outbox rows commit together.
 * 4. After commit, on every run (a duplicate included): the users' cached entitlements are dropped
 *    and email and price jobs are queued (jobIds dedupe), so a crash between commit and here is
 *    repaired by the job's retry.
 *
 * A batch that fails as a whole (an event naming no user, Stripe refusing a read, a constraint)
 * is applied again one event at a time, so one bad event fails alone. Every permutation of a
 * customer's events ends with the rows in-order delivery gives (test/billing/use-cases/event-order.test.ts).
 */
export function createApplyStripeEvents (deps: ApplyEventDeps) {
  const stripeReads: StripeApplyReads = createStripeReads(deps.stripe)
  const ctx = { catalogue: deps.catalogue, graceDays: deps.graceDays }

  /**
   * The event as Tollgate may read it. A payload in another API version than the pinned one is
   * never read for what it means: the object it names is read again through the API, which answers
   * in the pinned version, and stands in for it (as Stripe's state now, never as a snapshot).
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
    const snapshot = decision.kind === 'subscription' && decision.snapshot && !foreign
      ? toSubscriptionState(decision.snapshot as unknown as Stripe.Subscription)
      : null
    return { job, event, decision: decision.kind === 'subscription' && foreign ? { ...decision, snapshot: null } : decision, snapshot, reread: foreign ? object : null }
  }

  /**
   * What Postgres holds about the batch: the same query before and inside the transaction. `extra`
   * names users and test clocks the decision found it needs beyond those the events name.
   */
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
   * Steps 1 and 2: reads until the decision needs none more. A user Stripe named (metadata) brings
   * their other subscriptions along: the entitlement is decided from all of them.
   */
  async function readAndDecide (items: Item[], reads: StripeReads) {
    const extra: Extra = { users: new Set(), clocks: new Set() }
    const [settled, firstStored] = await Promise.all([settledEventIds(deps.db, items.map(i => i.event.id)), readStored(deps.db, items, extra)])
    let stored = firstStored
    const pending = items.filter(i => !settled.has(i.event.id))
    for (let round = 0; ; round++) {
      const plan = planApply(pending, stored, reads, ctx)
      const users = [...plan.users.values()].filter(u => !extra.users.has(u) && !stored.customers.some(c => c.userId === u))
      // A clock is looked for in Postgres before it is read from Stripe.
      const clocks = plan.kind === 'read' ? [...plan.needs.testClocks].filter(c => !extra.clocks.has(c)) : []
      if (users.length + clocks.length > 0) {
        for (const u of users) extra.users.add(u)
        for (const c of clocks) extra.clocks.add(c)
        stored = await readStored(deps.db, items, extra)
      } else if (plan.kind === 'write') {
        return { stored, plan, extra }
      } else {
        await stripeReads.fetch(plan.needs, reads)
      }
      if (round >= MAX_READ_ROUNDS) throw new Error('applying the batch kept asking for more reads')
    }
  }

  /**
   * One attempt at `items` (distinct events); throws when any of them cannot be applied, MovedOn
   * when the rows moved on. A job whose subscription or user another transaction holds is left out
   * (undefined) unless `mustWait(item)`: the caller offers it again with the next batch.
   */
  async function attempt (items: Item[], mustWait: (i: Item) => boolean, reads: StripeReads) {
    const { stored, plan: first, extra } = await readAndDecide(items, reads)
    const outcome = await deps.db.transaction(async tx => {
      const keys = (i: Item) => keysOf(i, first.users)
      const waiting = items.filter(mustWait)
      await lockKeys(tx, waiting.flatMap(keys))
      const held = new Set([...waiting.flatMap(keys), ...await tryLockKeys(tx, items.flatMap(keys))])
      const ready = items.filter(i => keys(i).every(k => held.has(k)))
      const provisional = (i: Item): EventOutcome => {
        const r = first.results.get(i.event.id)
        return { id: i.event.id, outcome: r?.outcome === 'ignored' ? 'ignored' : 'applied', userId: r?.userId ?? null, note: r?.note ?? null }
      }
      const [claimedIds, fresh] = await Promise.all([
        claimEvents(tx, ready.map(i => ({ ...provisional(i), type: i.event.type, created: i.event.created, receivedAt: new Date(i.job.receivedAt), payload: i.event }))),
        readStored(tx, items, extra)
      ])
      // Decided again from the rows as they are now, under the locks. A state read from Stripe is
      // only as new as the row it was read against: when that row moved on, read again.
      const claimed = ready.filter(i => claimedIds.has(i.event.id))
      const plan = planApply(claimed, fresh, reads, ctx)
      if (plan.kind === 'read' || [...plan.fromReads].some(id => rowOf(fresh, id) !== rowOf(stored, id))) throw new MovedOn()
      const outcomes = claimed.flatMap(i => {
        const r = plan.results.get(i.event.id)!
        const settled: EventOutcome = { id: i.event.id, outcome: r.outcome === 'ignored' ? 'ignored' : 'applied', userId: r.userId ?? null, note: r.note ?? null }
        return JSON.stringify(settled) === JSON.stringify(provisional(i)) ? [] : [settled]
      })
      const { outboxIds, clockUsers } = await writeApplied(tx, plan.writes, outcomes)
      if (claimed.length > 0) await faultPoint('before-commit', claimed.map(i => i.event.id).join('\n'))
      return { ready: new Set(ready), claimed: new Set(claimed), results: plan.results, outboxIds, clockUsers }
    })
    if (outcome.claimed.size > 0) await faultPoint('after-commit', [...outcome.claimed].map(i => i.event.id).join('\n'))
    return outcome
  }

  /** Steps 3 and 4 for `jobs`, starting over while the rows move on under it. */
  async function applyTogether (jobs: StripeEventJob[], mustWait: (index: number) => boolean): Promise<Array<ApplyResult | undefined>> {
    const all = await Promise.all(jobs.map(understand))
    const seen = new Set<string>()
    const items = all.filter(i => !seen.has(i.event.id) && seen.add(i.event.id))
    const waits = new Set(all.filter((_, index) => mustWait(index)).map(i => i.event.id))
    const reads = noReads()
    for (const i of all) {
      if (i.reread && i.decision.kind === 'subscription' && i.reread.object === 'subscription') {
        reads.subscriptions.set(i.decision.subscriptionId, toSubscriptionState(i.reread as unknown as Stripe.Subscription))
      }
    }
    for (let tries = 1; ; tries++) {
      try {
        const { ready, claimed, results, outboxIds, clockUsers } = await attempt(items, i => waits.has(i.event.id), reads)
        await afterCommit(all, ready, claimed, results, outboxIds, clockUsers)
        return all.map(i => {
          const mine = items.find(x => x.event.id === i.event.id)!
          if (!ready.has(mine)) return undefined
          return claimed.has(mine) && mine === i ? results.get(i.event.id)! : { outcome: 'duplicate' }
        })
      } catch (err) {
        if (!(err instanceof MovedOn) || tries >= MAX_ATTEMPTS) throw err
        // Stripe's state may have moved on with the rows: what was read is read again.
        for (const map of Object.values(reads)) map.clear()
      }
    }
  }

  /** Repairs after commit, on every run: a crash before them is made good by the retry. */
  async function afterCommit (all: Item[], ready: Set<Item>, claimed: Set<Item>, results: Map<string, ApplyResult>, outboxIds: number[], clockUsers: string[]) {
    const readyIds = new Set([...ready].map(i => i.event.id))
    const claimedIds = new Set([...claimed].map(i => i.event.id))
    const duplicates = all.filter(i => readyIds.has(i.event.id) && !claimedIds.has(i.event.id))
    const users = new Set([...[...claimed].flatMap(i => results.get(i.event.id)?.userId ?? []), ...clockUsers])
    for (const userId of await eventUsersOf(deps.db, duplicates.map(i => i.event.id))) users.add(userId)
    const emailing = duplicates.filter(i => i.decision.kind === 'subscription' && i.decision.emails.length > 0).map(i => i.event.id)
    await Promise.all([
      deps.afterCommit.entitlementsChanged([...users]),
      deps.afterCommit.emailsWritten([...outboxIds, ...await pendingEmailsOf(deps.db, emailing)]),
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
