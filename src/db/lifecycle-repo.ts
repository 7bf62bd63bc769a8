import { and, eq, getTableColumns, getTableName, inArray, or, sql, type SQL } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { AccessDecision, SubscriptionState } from '../billing/access.js'
import type { EmailIntent } from '../billing/lifecycle.js'
import type { Plan } from '../billing/plans.js'
import type { Db } from './client.js'
import { outboxRefColumns, type OutboxRef } from './outbox-repo.js'
import { checkoutSessions, customers, emailOutbox, entitlements, stripeEvents, subscriptions } from './schema.js'

/** A transaction handle: every function taking one runs inside the batch's one transaction. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

export type SubscriptionRow = typeof subscriptions.$inferSelect

const at = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000))

type Row<T extends PgTable> = Partial<T['$inferInsert']>

/**
 * Inserts many rows as one JSON parameter (`jsonb_populate_recordset` over the table's own row type):
 * one statement and one parameter whatever the row count, instead of a bound parameter per value, whose
 * building was a fifth of a busy worker's CPU. On a conflict on `target`, the `set` columns take the
 * new row's values, where `where` holds. Returns the `returning` column of the rows written.
 */
async function upsertMany<T extends PgTable> (tx: Tx, table: T, rows: Array<Row<T>>, opts: {
  target: keyof T['$inferInsert'] & string
  set: ReadonlyArray<keyof T['$inferInsert'] & string>
  also?: Record<string, SQL>
  where?: SQL
  returning?: keyof T['$inferInsert'] & string
}): Promise<unknown[]> {
  if (rows.length === 0) return []
  const columns = getTableColumns(table) as Record<string, PgColumn>
  const keys = Object.keys(rows[0]!)
  const name = (k: string) => `"${columns[k]!.name}"`
  const list = sql.raw(keys.map(name).join(', '))
  const json = JSON.stringify(rows.map(r => Object.fromEntries(keys.map(k => [columns[k]!.name, (r as Record<string, unknown>)[k] ?? null]))))
  const sets = [...opts.set.map(k => sql.raw(`${name(k)} = excluded.${name(k)}`)), ...Object.entries(opts.also ?? {}).map(([k, v]) => sql`${sql.raw(name(k))} = ${v}`)]
  const table$ = sql.raw(`"${getTableName(table)}"`)
  const query = sql`insert into ${table$} (${list}) select ${list} from jsonb_populate_recordset(null::${table$}, ${json}::jsonb)
    on conflict (${sql.raw(name(opts.target))}) do update set ${sql.join(sets, sql`, `)}`
  if (opts.where) query.append(sql` where ${opts.where}`)
  if (opts.returning) query.append(sql.raw(` returning ${name(opts.returning)} as v`))
  const result = await tx.execute<{ v: unknown }>(query)
  return [...result].map(r => r.v)
}

/** One row per key: Postgres refuses an upsert that would touch the same row twice in one statement. */
function lastPerKey<R> (rows: R[], key: (r: R) => string): R[] {
  return [...new Map(rows.map(r => [key(r), r])).values()]
}

/**
 * Serialises work on one key (a subscription, a user) until the transaction ends. Keys are
 * namespaced so a subscription id and a user id never share a lock.
 */
export async function lockKey (tx: Tx, namespace: string, key: string): Promise<void> {
  await lockKeys(tx, [`${namespace}:${key}`])
}

/**
 * Takes every key's transaction lock in one statement, in one global order (sorted), so two
 * transactions locking overlapping sets wait for each other instead of deadlocking.
 */
export async function lockKeys (tx: Tx, keys: Iterable<string>): Promise<void> {
  const sorted = [...new Set(keys)].sort()
  if (sorted.length === 0) return
  await tx.execute(sql`select count(pg_advisory_xact_lock(hashtextextended(k, 0)))
    from (select k from jsonb_array_elements_text(${JSON.stringify(sorted)}::jsonb) as k order by k collate "C") as ordered`)
}

/** Takes each key's transaction lock that no other transaction holds, without waiting; returns those taken. */
export async function tryLockKeys (tx: Tx, keys: Iterable<string>): Promise<Set<string>> {
  const unique = [...new Set(keys)]
  if (unique.length === 0) return new Set()
  const rows = await tx.execute<{ k: string }>(sql`select k from jsonb_array_elements_text(${JSON.stringify(unique)}::jsonb) as k
    where pg_try_advisory_xact_lock(hashtextextended(k, 0))`)
  return new Set([...rows].map(r => r.k))
}

export interface EventRecord {
  id: string
  type: string
  created: number
  receivedAt: Date
  payload: unknown
}

/** A claim carries the event's outcome already: the row is written once, not inserted and then updated. */
export interface EventClaim extends EventRecord {
  outcome: 'applied' | 'ignored'
  userId: string | null
  note: string | null
}

/**
 * Claims events for this transaction; returns the ids claimed. A second delivery, a retried job or a
 * racing worker finds the row and is left out (a racing insert waits on the key until the first
 * commits). A `failed` row is claimed again, so a replay from the dead-letter queue applies the event.
 * Rows go in id order, so two batches claiming overlapping events cannot deadlock.
 */
export async function claimEvents (tx: Tx, events: EventClaim[]): Promise<Set<string>> {
  if (events.length === 0) return new Set()
  const processedAt = new Date()
  const rows = lastPerKey(events, e => e.id).sort((a, b) => (a.id < b.id ? -1 : 1)).map(e => ({
    eventId: e.id, type: e.type, created: e.created, receivedAt: e.receivedAt, payload: e.payload, outcome: e.outcome, userId: e.userId, error: e.note, processedAt
  }))
  const claimed = await upsertMany(tx, stripeEvents, rows, {
    target: 'eventId', set: ['outcome', 'userId', 'error', 'processedAt'], where: sql`stripe_events.outcome = 'failed'`, returning: 'eventId'
  })
  return new Set(claimed as string[])
}

/** A note found while applying (an email that had no address) joins the claimed row. */
export async function noteEvents (tx: Tx, notes: Array<{ id: string, note: string }>): Promise<void> {
  if (notes.length === 0) return
  await tx.execute(sql`update stripe_events e set error = v.note
    from jsonb_to_recordset(${JSON.stringify(notes)}::jsonb) as v(id text, note text) where e.event_id = v.id`)
}

/** Outside any transaction: the event's work rolled back, the audit trail still shows why. */
export async function recordFailedEvent (db: Db, e: EventRecord, error: string): Promise<void> {
  await db.insert(stripeEvents).values({
    eventId: e.id, type: e.type, created: e.created, receivedAt: e.receivedAt, outcome: 'failed', error, processedAt: new Date(), payload: e.payload
  }).onConflictDoUpdate({
    target: stripeEvents.eventId,
    set: { error, processedAt: new Date() },
    setWhere: sql`${stripeEvents.outcome} = 'failed'`
  })
}

/** The users applied events concerned, as recorded when they were applied. */
export async function eventUsersOf (db: Db, eventIds: string[]): Promise<string[]> {
  if (eventIds.length === 0) return []
  const rows = await db.selectDistinct({ userId: stripeEvents.userId }).from(stripeEvents).where(inArray(stripeEvents.eventId, eventIds))
  return rows.flatMap(r => (r.userId ? [r.userId] : []))
}

/** The users subscriptions and customers are bound to already, for events that do not say. */
export async function knownUsersOf (tx: Tx, subscriptionIds: string[], customerIds: string[]) {
  const bySubscription = new Map<string, string>()
  const byCustomer = new Map<string, string>()
  if (subscriptionIds.length > 0) {
    for (const r of await tx.select({ id: subscriptions.stripeSubscriptionId, userId: subscriptions.userId }).from(subscriptions)
      .where(inArray(subscriptions.stripeSubscriptionId, subscriptionIds))) bySubscription.set(r.id, r.userId)
  }
  if (customerIds.length > 0) {
    for (const r of await tx.select({ id: customers.stripeCustomerId, userId: customers.userId }).from(customers)
      .where(inArray(customers.stripeCustomerId, customerIds))) if (r.id) byCustomer.set(r.id, r.userId)
  }
  return { bySubscription, byCustomer }
}

/** Every stored subscription of these users, and these subscriptions whoever holds them. */
export async function subscriptionRowsOf (tx: Tx, userIds: string[], subscriptionIds: string[]): Promise<SubscriptionRow[]> {
  if (userIds.length === 0 && subscriptionIds.length === 0) return []
  return tx.select().from(subscriptions).where(or(
    userIds.length > 0 ? inArray(subscriptions.userId, userIds) : undefined,
    subscriptionIds.length > 0 ? inArray(subscriptions.stripeSubscriptionId, subscriptionIds) : undefined
  ))
}

export interface SubscriptionWrite {
  state: SubscriptionState
  userId: string
  planId: string | null
  decision: AccessDecision
  /** The Stripe time (event `created`) this state is as of; the stored one only ever grows. */
  stripeTime: number
}

/** The row a write leaves: its state, and the greater of the stored and the new Stripe time. */
export function subscriptionRow ({ state: s, userId, planId, decision, stripeTime }: SubscriptionWrite, stored: SubscriptionRow | undefined, now: Date): SubscriptionRow {
  return {
    stripeSubscriptionId: s.id,
    userId,
    stripeCustomerId: s.customerId,
    planId,
    priceId: s.priceId,
    status: s.status,
    currentPeriodStart: at(s.currentPeriodStart),
    currentPeriodEnd: at(s.currentPeriodEnd),
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    access: decision.access,
    accessUntil: at(decision.accessUntil),
    startedAt: at(s.startedAt),
    endedAt: at(s.endedAt),
    stripeTime: Math.max(stripeTime, stored?.stripeTime ?? stripeTime),
    updatedAt: now
  }
}

const SUBSCRIPTION_STATE_COLUMNS = [
  'userId', 'stripeCustomerId', 'planId', 'priceId', 'status', 'currentPeriodStart', 'currentPeriodEnd', 'cancelAtPeriodEnd',
  'access', 'accessUntil', 'startedAt', 'endedAt', 'updatedAt'
] as const

/** Writes subscription rows (see subscriptionRow) in one statement; the stored Stripe time only ever grows. */
export async function saveSubscriptions (tx: Tx, rows: SubscriptionRow[]): Promise<void> {
  if (rows.length === 0) return
  await upsertMany(tx, subscriptions, lastPerKey(rows, r => r.stripeSubscriptionId), {
    target: 'stripeSubscriptionId', set: SUBSCRIPTION_STATE_COLUMNS, also: { stripeTime: sql`greatest(subscriptions.stripe_time, excluded.stripe_time)` }
  })
}

export interface CheckoutCompletion { sessionId: string, userId: string, planId: string, subscriptionId: string, completedAt: number }

export async function completeCheckoutSessions (tx: Tx, completions: CheckoutCompletion[]): Promise<void> {
  if (completions.length === 0) return
  const rows = lastPerKey(completions, c => c.sessionId).map(c => ({
    sessionId: c.sessionId, userId: c.userId, planId: c.planId, status: 'complete', stripeSubscriptionId: c.subscriptionId, completedAt: at(c.completedAt)
  }))
  await upsertMany(tx, checkoutSessions, rows, { target: 'sessionId', set: ['status', 'stripeSubscriptionId', 'completedAt'] })
}

/**
 * Binds each user to the Stripe customer holding their current subscription: should a user ever
 * hold two customers (two checkouts racing), the choice follows the subscription, not the event order.
 * An address read from Stripe is kept unless one is stored already.
 */
export async function bindCustomers (tx: Tx, bindings: Array<{ userId: string, customerId: string, email?: string | null }>): Promise<void> {
  if (bindings.length === 0) return
  const rows = lastPerKey(bindings, b => b.userId).map(b => ({ userId: b.userId, stripeCustomerId: b.customerId, email: b.email ?? null }))
  await upsertMany(tx, customers, rows, { target: 'userId', set: ['stripeCustomerId'], also: { email: sql`coalesce(customers.email, excluded.email)` } })
}

const ENTITLEMENT_COLUMNS = [
  'planId', 'stripeSubscriptionId', 'status', 'access', 'accessUntil', 'features', 'limits', 'currentPeriodEnd', 'cancelAtPeriodEnd',
  'grantedAt', 'revokedAt', 'updatedAt'
] as const

/** Each entitlement follows one subscription; its times come from Stripe, so replays write the same row. */
export async function saveEntitlements (tx: Tx, grants: Array<{ userId: string, sub: SubscriptionRow, plan: Plan | undefined }>): Promise<void> {
  if (grants.length === 0) return
  const now = new Date()
  const rows = lastPerKey(grants, g => g.userId).map(({ userId, sub, plan }) => ({
    userId,
    planId: sub.planId,
    stripeSubscriptionId: sub.stripeSubscriptionId,
    status: sub.status,
    access: sub.access,
    accessUntil: sub.accessUntil,
    features: plan?.features ?? {},
    limits: plan?.limits ?? {},
    currentPeriodEnd: sub.currentPeriodEnd,
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
    grantedAt: sub.access ? sub.startedAt : null,
    revokedAt: sub.access ? null : sub.endedAt,
    updatedAt: now
  }))
  await upsertMany(tx, entitlements, rows, { target: 'userId', set: ENTITLEMENT_COLUMNS })
}

export async function emailsOf (tx: Tx, userIds: string[]): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map()
  const rows = await tx.select({ userId: customers.userId, email: customers.email }).from(customers).where(inArray(customers.userId, userIds))
  return new Map(rows.flatMap(r => (r.email ? [[r.userId, r.email] as const] : [])))
}

export interface EmailWrite { eventId: string, userId: string, to: string, intent: EmailIntent }

/** One row per (event, template): a redelivered event never queues a second email. Returns the new rows. */
export async function queueEmails (tx: Tx, emails: EmailWrite[]): Promise<OutboxRef[]> {
  if (emails.length === 0) return []
  return await tx.insert(emailOutbox)
    .values(emails.map(e => ({ eventId: e.eventId, template: e.intent.template, userId: e.userId, to: e.to, data: e.intent.data })))
    .onConflictDoNothing().returning(outboxRefColumns)
}

/** Outbox rows of these events still waiting for a send job: every run re-queues them (jobId dedupes). */
export async function pendingEmailsOf (db: Db, eventIds: string[]): Promise<OutboxRef[]> {
  if (eventIds.length === 0) return []
  return await db.select(outboxRefColumns).from(emailOutbox)
    .where(and(inArray(emailOutbox.eventId, eventIds), eq(emailOutbox.status, 'pending')))
}
