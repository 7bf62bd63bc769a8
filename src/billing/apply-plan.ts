import { currentSubscription, decideAccess, type SubscriptionState } from './access.js'
import {
  grants, noNeeds, UnappliableEventError,
  type ApplyResult, type ApplyWrites, type CustomerRecord, type Needs, type PaymentState, type PlanItem, type Stored, type StripeReads, type SubscriptionRecord
} from './apply-records.js'
import type { EventDecision, SubscriptionDecision } from './lifecycle.js'
import type { Catalogue } from './plans.js'
import { decidePlanChange, decideProductEvents, eventEntitlement, trialWillEndEvent } from './product-events.js'

/**
 * The decide step of applying Stripe events: pure, no clock, no I/O. Given a batch of events, what
 * Postgres holds about the subscriptions, customers and test clocks they concern, and what has been
 * read from Stripe so far, it answers either the Stripe reads it still needs or every row to write.
 * The use case (use-cases/apply-stripe-event.ts) runs it inside the write transaction, on the rows
 * read under its locks; when it asks for Stripe reads, that transaction ends unwritten, the reads
 * are made outside any transaction, and the next transaction decides again with them.
 *
 * Order, a stale-write guard on Stripe time: each subscription keeps the `created` of the event its
 * state is as of (`stripeTime`). A `customer.subscription.*` event carries the whole subscription;
 * its snapshot is written when it is newer than the stored one and dropped when older. When the
 * guard cannot tell (two events of one subscription in the same second, the stored state as of the
 * same second, a `past_due` snapshot whose grace start needs the open invoice, an event that carries
 * no state for a subscription Tollgate has not stored, an operator's sync, a payload in another API
 * version), Stripe's current state is read: that is as new as any event in hand. Customers follow
 * the same guard for their address and test clock.
 */

const PAYMENT_OF = { payment_pending: 'pending', complete: 'paid', payment_failed: 'failed' } as const
const rankOf = (p: PaymentState) => (p === 'pending' ? 1 : 2)

/**
 * The payment word a subscription's events leave: a pending payment only until its outcome is
 * known; between outcomes (a failed debit, then an invoice paid by hand) the later one. Independent
 * of delivery order.
 */
function paymentOf (items: SubItem[], row: SubscriptionRecord | undefined): { state: PaymentState | null, at: number | null } {
  let best = { state: row?.paymentState ?? null, at: row?.paymentStateAt ?? null }
  for (const i of items) {
    const state: PaymentState | null = i.decision.checkout ? PAYMENT_OF[i.decision.checkout.state] : i.event.type === 'invoice.paid' ? 'paid' : null
    if (!state) continue
    const at = i.event.created
    if (!best.state || rankOf(state) > rankOf(best.state) || (rankOf(state) === rankOf(best.state) && at > best.at!)) best = { state, at }
  }
  return best
}

/** A change to a user's customer row; `email`/`testClock` undefined = keep what is stored. */
interface CustomerChange { userId: string, customerId: string, email?: string | null, testClock?: string | null, stripeTime: number | null }

export type ApplyPlan =
  | { kind: 'read', needs: Needs, users: Map<PlanItem, string> }
  | {
    kind: 'write'
    writes: ApplyWrites
    results: Map<string, ApplyResult>
    users: Map<PlanItem, string>
    /** Subscriptions whose state comes from a Stripe read: valid only while their stored row is the one it was read against. */
    fromReads: Set<string>
  }

export interface PlanContext { catalogue: Catalogue, graceDays: number }

type SubItem = PlanItem & { decision: SubscriptionDecision }
const isSubscription = (i: PlanItem): i is SubItem => i.decision.kind === 'subscription'
const maxCreated = (items: PlanItem[]) => items.reduce((m, i) => Math.max(m, i.event.created), -Infinity)

function groupBy<T> (items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const i of items) out.set(key(i), [...(out.get(key(i)) ?? []), i])
  return out
}

/** The user of each subscription and customer item: named by the event, bound earlier, or as Stripe says. */
export function usersOf (items: PlanItem[], stored: Stored, reads: StripeReads, needs: Needs): Map<PlanItem, string> {
  const bySubscription = new Map(stored.subscriptions.map(s => [s.id, s.userId]))
  const byCustomer = new Map(stored.customers.flatMap(c => (c.customerId ? [[c.customerId, c.userId] as const] : [])))
  // Stripe's own metadata first, the checkout's client_reference_id after it.
  const named = new Map<string, string>()
  for (const i of [...items.filter(i => isSubscription(i) && !i.decision.checkout), ...items.filter(i => isSubscription(i) && i.decision.checkout)]) {
    const d = i.decision as SubscriptionDecision
    if (d.userId && !named.has(d.subscriptionId)) named.set(d.subscriptionId, d.userId)
  }
  const users = new Map<PlanItem, string>()
  for (const i of items) {
    const d = i.decision
    if (d.kind === 'customer') {
      const userId = byCustomer.get(d.customerId) ?? d.userId
      if (userId) users.set(i, userId)
    }
    if (d.kind !== 'subscription') continue
    const id = d.subscriptionId
    const userId = named.get(id) ?? bySubscription.get(id) ?? (d.customerId ? byCustomer.get(d.customerId) : undefined)
    if (userId) { users.set(i, userId); continue }
    const read = reads.subscriptions.get(id)
    if (!read) { needs.subscriptions.add(id); continue }
    if (!read.userId) {
      throw new UnappliableEventError('subscription_without_user', `Subscription ${id} (customer ${String(d.customerId)}) names no user: ` +
        'it has no metadata.user_id and no checkout or earlier event bound it; set metadata.user_id on the subscription in Stripe, then replay this event')
    }
    users.set(i, read.userId)
  }
  return users
}

/** A payload tells everything Tollgate stores: not past_due (the grace start), its schedule and discount not bare ids. */
const whole = (s: SubscriptionState) => s.status !== 'past_due' && s.pending !== undefined && s.discount !== undefined

/** The state to write for one subscription, null when its events hold nothing newer, or 'read' when only Stripe can tell. */
function stateToWrite (items: SubItem[], row: SubscriptionRecord | undefined, reads: StripeReads): { state: SubscriptionState, stripeTime: number, read?: true } | null | 'read' {
  const stored = row?.stripeTime ?? -Infinity
  const synced = items.some(i => !i.snapshot && (i.event.type.startsWith('customer.subscription.') || i.event.type.startsWith('subscription_schedule.')))
  const snapshots = items.filter(i => i.snapshot)
  if (!synced && snapshots.length > 0) {
    const newest = maxCreated(snapshots)
    if (newest < stored) return null
    const top = snapshots.filter(i => i.event.created === newest)
    if (newest > stored && top.length === 1 && whole(top[0]!.snapshot!)) return { state: top[0]!.snapshot!, stripeTime: newest }
  } else if (!synced && row) {
    return null
  }
  const read = reads.subscriptions.get(items[0]!.decision.subscriptionId)
  return read ? { state: read, stripeTime: Math.max(maxCreated(items), stored), read: true } : 'read'
}

function toRecord (state: SubscriptionState, userId: string, ctx: PlanContext, stripeTime: number, stored: SubscriptionRecord | undefined, payment: ReturnType<typeof paymentOf>): SubscriptionRecord {
  const decision = decideAccess(state, ctx.graceDays)
  return {
    id: state.id,
    userId,
    customerId: state.customerId,
    planId: ctx.catalogue.planOf(state.price)?.id ?? null,
    priceId: state.priceId,
    status: state.status,
    currentPeriodStart: state.currentPeriodStart,
    currentPeriodEnd: state.currentPeriodEnd,
    cancelAtPeriodEnd: state.cancelAtPeriodEnd,
    access: decision.access,
    accessUntil: decision.accessUntil,
    startedAt: state.startedAt,
    endedAt: state.endedAt,
    stripeTime: Math.max(stripeTime, stored?.stripeTime ?? stripeTime),
    paymentState: payment.state,
    paymentStateAt: payment.at,
    trialEnd: state.trialEnd,
    pendingChange: state.pending ? { plan_id: ctx.catalogue.planOf(state.pending.price)?.id ?? null, at: state.pending.at } : null,
    discount: state.discount ?? null
  }
}

/** A user's customer row after a change: the binding follows the change, the address the newer Stripe time. */
function mergeCustomer (rows: Map<string, CustomerRecord>, c: CustomerChange): void {
  const old = rows.get(c.userId)
  const newer = c.stripeTime !== null && (old?.stripeTime == null || c.stripeTime >= old.stripeTime)
  rows.set(c.userId, {
    userId: c.userId,
    customerId: c.customerId,
    email: newer && c.email !== undefined ? c.email : (old?.email ?? c.email ?? null),
    testClock: c.testClock ?? old?.testClock ?? null,
    stripeTime: newer ? c.stripeTime : (old?.stripeTime ?? null)
  })
}

/**
 * Decides a batch. Items must be distinct events, each to be applied now (claimed, or about to be).
 * Throws UnappliableEventError for an event no read can make appliable.
 */
export function planApply (items: PlanItem[], stored: Stored, reads: StripeReads, ctx: PlanContext): ApplyPlan {
  const needs = noNeeds()
  const users = usersOf(items, stored, reads, needs)
  const writes: ApplyWrites = { subscriptions: [], entitlements: [], customers: [], checkouts: [], testClocks: [], emails: [], trialClaims: [], productEvents: [] }
  const rows = new Map(stored.subscriptions.map(r => [r.id, r]))
  const customers = new Map(stored.customers.map(c => [c.userId, c]))
  const clocks = new Set(stored.testClocks.map(c => c.id))
  const subItems = items.filter(isSubscription).filter(i => users.has(i))
  const touched = new Set<string>()
  const fromReads = new Set<string>()
  const change = (c: CustomerChange) => { mergeCustomer(customers, c); touched.add(c.userId) }

  for (const [id, group] of groupBy(subItems, i => i.decision.subscriptionId)) {
    const next = stateToWrite(group, rows.get(id), reads)
    if (next === 'read') { needs.subscriptions.add(id); continue }
    const before = rows.get(id)
    const payment = paymentOf(group, before)
    if (!next) {
      if (before && (payment.state !== before.paymentState || payment.at !== before.paymentStateAt)) {
        const row = { ...before, paymentState: payment.state, paymentStateAt: payment.at }
        rows.set(id, row)
        writes.subscriptions.push(row)
      }
      continue
    }
    if (next.read) fromReads.add(id)
    const row = toRecord(next.state, users.get(group[0]!)!, ctx, next.stripeTime, before, payment)
    rows.set(id, row)
    writes.subscriptions.push(row)
    if (next.state.trialStart !== null) writes.trialClaims.push({ userId: row.userId, customerId: row.customerId, subscriptionId: id, trialEnd: next.state.trialEnd })
    if (next.state.testClock) change({ userId: row.userId, customerId: row.customerId, testClock: next.state.testClock, stripeTime: null })
  }

  // Customer events, oldest first: each re-read is as new as its event at least.
  for (const i of items.filter(i => i.decision.kind === 'customer').sort((a, b) => a.event.created - b.event.created)) {
    const d = i.decision as Extract<EventDecision, { kind: 'customer' }>
    const userId = users.get(i)
    if (!userId) continue
    const read = reads.customers.get(d.customerId)
    if (!read) { needs.customers.add(d.customerId); continue }
    change({ userId, customerId: d.customerId, email: read.email, testClock: read.testClock, stripeTime: i.event.created })
  }
  for (const i of items) {
    if (i.decision.kind === 'test-clock') writes.testClocks.push({ id: i.decision.clockId, frozenTime: i.decision.frozenTime })
  }

  for (const i of subItems.filter(i => i.decision.checkout)) {
    const d = i.decision
    writes.checkouts.push({
      sessionId: d.checkout!.sessionId,
      userId: users.get(i)!,
      planId: d.checkout!.planId ?? rows.get(d.subscriptionId)?.planId ?? 'unknown',
      subscriptionId: d.subscriptionId,
      state: d.checkout!.state,
      at: i.event.created
    })
  }

  // The entitlement follows one of all the user's subscriptions (src/billing/access.ts).
  for (const userId of new Set(subItems.map(i => users.get(i)!))) {
    const subs = [...rows.values()].filter(r => r.userId === userId).map(r => ({ ...r, access: grants(r) }))
    // None when the user's only subscription is stored under another user (its metadata changed).
    const sub = currentSubscription(subs)
    if (!sub) continue
    change({ userId, customerId: sub.customerId, stripeTime: null })
    const plan = sub.planId ? ctx.catalogue.byId(sub.planId) : undefined
    writes.entitlements.push({ userId, sub, plan })
    // Before: what the stored rows gave, decided the same way; the product hears of the difference.
    const was = currentSubscription(stored.subscriptions.filter(r => r.userId === userId).map(r => ({ ...r, access: grants(r) })))
    const sessions = new Map(writes.checkouts.filter(c => c.userId === userId && c.state === 'complete').map(c => [c.sessionId, { sessionId: c.sessionId, planId: c.planId }]))
    const after = eventEntitlement(sub, plan)
    const mine = subItems.filter(i => users.get(i) === userId)
    const at = maxCreated(mine)
    writes.productEvents.push(...decideProductEvents({
      userId,
      before: eventEntitlement(was, was?.planId ? ctx.catalogue.byId(was.planId) : undefined),
      after,
      checkouts: [...sessions.values()],
      at
    }))
    // The pending change of the subscription the entitlement follows, against its stored row.
    const pendingWas = stored.subscriptions.find(r => r.id === sub.id)?.pendingChange ?? null
    writes.productEvents.push(...decidePlanChange(userId, pendingWas, sub.pendingChange, after, at))
    // The trial's notice, whether or not the user has an address to email it to.
    for (const i of mine) {
      for (const intent of i.decision.emails.filter(e => e.template === 'trial_will_end')) {
        const notice = { once: intent.once ?? i.event.id, trialEnd: (intent.data.trial_end as number | null) ?? null, hasCard: intent.data.has_card === true }
        writes.productEvents.push(trialWillEndEvent(userId, after, i.event.created, notice))
      }
    }
  }

  // Addresses as of each email's event: the stored one when it is as new, else Stripe's.
  const results = new Map<string, ApplyResult>()
  for (const i of items) {
    const userId = users.get(i)
    const d = i.decision
    if (d.kind === 'ignore') { results.set(i.event.id, { outcome: 'ignored', note: d.reason }); continue }
    if (d.kind === 'customer' && !userId) { results.set(i.event.id, { outcome: 'ignored', note: 'customer is bound to no Tollgate user' }); continue }
    let note: string | undefined
    if (d.kind === 'subscription' && userId) {
      for (const intent of d.emails) {
        const known = customers.get(userId)
        const customerId = known?.customerId ?? rows.get(d.subscriptionId)?.customerId ?? d.customerId
        let to: string | null | undefined
        if (known && known.stripeTime !== null && known.stripeTime >= i.event.created) {
          to = known.email
        } else if (customerId) {
          const read = reads.customers.get(customerId)
          if (!read) { needs.customers.add(customerId); continue }
          to = read.email
          change({ userId, customerId, email: read.email, stripeTime: i.event.created })
        }
        if (!to) { note = `no email address for ${intent.template}`; continue }
        writes.emails.push({ eventId: intent.once ?? i.event.id, userId, to, intent })
      }
    }
    results.set(i.event.id, { outcome: 'applied', ...(userId && { userId }), ...(note && { note }) })
  }

  // A customer on a test clock whose time Tollgate has not seen yet: read the clock.
  for (const c of customers.values()) {
    if (!c.testClock || clocks.has(c.testClock) || writes.testClocks.some(t => t.id === c.testClock)) continue
    const read = reads.testClocks.get(c.testClock)
    if (read) writes.testClocks.push(read)
    else needs.testClocks.add(c.testClock)
  }

  if (needs.subscriptions.size + needs.customers.size + needs.testClocks.size > 0) return { kind: 'read', needs, users }
  writes.customers = [...touched].map(u => customers.get(u)!)
  return { kind: 'write', writes, results, users, fromReads }
}
