import { eq, inArray, sql } from 'drizzle-orm'
import type { CustomerRecord, TestClockRecord } from '../billing/apply-records.js'
import type { Db, Tx } from './client.js'
import { customers, testClocks } from './schema.js'
import { usersAround, type AroundKeys } from './subscriptions-repo.js'
import { upsertMany } from './upsert.js'

/** The Stripe customer bound to a user, if any. */
export async function customerIdOf (db: Db | Tx, userId: string): Promise<string | null> {
  return (await customerOf(db, userId))?.id ?? null
}

/** The user's Stripe customer and the test clock it lives on, if any. */
export async function customerOf (db: Db | Tx, userId: string): Promise<{ id: string, testClock: string | null } | null> {
  const [row] = await db.select({ id: customers.stripeCustomerId, testClock: customers.testClockId }).from(customers).where(eq(customers.userId, userId))
  return row?.id ? { id: row.id, testClock: row.testClock } : null
}

/**
 * Binds a customer just created in Stripe, unless the user is bound already (a concurrent request,
 * or a checkout's webhook, got there first): the user's primary key and the unique customer id stand
 * in for a lock held across the Stripe call. Returns the customer the user is bound to.
 */
export async function bindNewCustomer (db: Db, c: { userId: string, customerId: string, email: string | null, testClock: string | null }): Promise<string> {
  const [inserted] = await db.insert(customers).values({ userId: c.userId, stripeCustomerId: c.customerId, email: c.email, testClockId: c.testClock })
    .onConflictDoNothing().returning({ id: customers.stripeCustomerId })
  if (inserted?.id) return inserted.id
  const bound = await customerIdOf(db, c.userId)
  if (bound) return bound
  // A row without a customer (none is written today, but the column allows it): take it.
  await db.update(customers).set({ stripeCustomerId: c.customerId }).where(eq(customers.userId, c.userId))
  return c.customerId
}

/**
 * What a batch may touch: the customers of the users it concerns (usersAround), each with the
 * time of its test clock when Tollgate knows it.
 */
export async function customersAround (db: Db | Tx, keys: AroundKeys): Promise<{ customers: CustomerRecord[], testClocks: TestClockRecord[] }> {
  if (keys.subscriptionIds.length + keys.userIds.length + keys.customerIds.length === 0) return { customers: [], testClocks: [] }
  const rows = [...await db.execute<{ user_id: string, customer_id: string | null, email: string | null, test_clock: string | null, stripe_time: string | null, frozen_time: string | null }>(sql`${usersAround(keys)}
    select c.user_id, c.stripe_customer_id as customer_id, c.email, c.test_clock_id as test_clock, c.stripe_time, t.frozen_time
    from customers c join u on c.user_id = u.user_id left join test_clocks t on t.id = c.test_clock_id
    order by c.user_id`)]
  const num = (v: string | null) => (v === null ? null : Number(v))
  return {
    customers: rows.map(r => ({ userId: r.user_id, customerId: r.customer_id, email: r.email, testClock: r.test_clock, stripeTime: num(r.stripe_time) })),
    testClocks: rows.flatMap(r => (r.test_clock && r.frozen_time !== null ? [{ id: r.test_clock, frozenTime: Number(r.frozen_time) }] : []))
  }
}

/** The times these test clocks stand at, of those Tollgate has seen. */
export async function testClocksOf (db: Db | Tx, ids: string[]): Promise<TestClockRecord[]> {
  if (ids.length === 0) return []
  return await db.select({ id: testClocks.id, frozenTime: testClocks.frozenTime }).from(testClocks).where(inArray(testClocks.id, ids))
}

/** Writes whole customer rows as the batch decided them (what was stored, merged with its changes). */
export async function saveCustomers (tx: Tx, records: CustomerRecord[]): Promise<void> {
  const rows = records.flatMap(r => (r.customerId
    ? [{ userId: r.userId, stripeCustomerId: r.customerId, email: r.email, testClockId: r.testClock, stripeTime: r.stripeTime }]
    : []))
  await upsertMany(tx, customers, rows, { target: 'userId', set: ['stripeCustomerId', 'email', 'testClockId', 'stripeTime'] })
}

/** Moves test clocks forward (never back); returns the users whose customers live on them. */
export async function saveTestClocks (tx: Tx, clocks: TestClockRecord[]): Promise<string[]> {
  if (clocks.length === 0) return []
  const latest = [...clocks.reduce((m, c) => m.set(c.id, Math.max(c.frozenTime, m.get(c.id) ?? -Infinity)), new Map<string, number>())]
  await upsertMany(tx, testClocks, latest.map(([id, frozenTime]) => ({ id, frozenTime, updatedAt: new Date() })), {
    target: 'id', set: ['updatedAt'], also: { frozenTime: sql`greatest(test_clocks.frozen_time, excluded.frozen_time)` }
  })
  const rows = await tx.select({ userId: customers.userId }).from(customers).where(inArray(customers.testClockId, latest.map(([id]) => id)))
  return rows.map(r => r.userId)
}
