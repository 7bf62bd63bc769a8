import { eq, sql } from 'drizzle-orm'
import type { CheckoutWrite } from '../billing/apply-records.js'
import type { CheckoutState } from '../billing/lifecycle.js'
import type { Db, Tx } from './client.js'
import { checkoutSessions } from './schema.js'
import { at } from './upsert.js'

export type CheckoutSessionRow = typeof checkoutSessions.$inferSelect

/** A double click replays the same Stripe session, and the worker may have completed it first: keep what is there. */
export async function recordCheckoutSession (db: Db, s: { sessionId: string, userId: string, planId: string, status: string }): Promise<void> {
  await db.insert(checkoutSessions).values(s).onConflictDoNothing()
}

export async function checkoutSessionOf (db: Db, sessionId: string): Promise<CheckoutSessionRow | null> {
  const [row] = await db.select().from(checkoutSessions).where(eq(checkoutSessions.sessionId, sessionId))
  return row ?? null
}

/** How far a checkout has come: a late `completed` (pending) never undoes its payment's outcome. */
const RANK = sql`case s.status when 'open' then 0 when 'payment_pending' then 1 else 2 end`

export async function saveCheckouts (tx: Tx, writes: CheckoutWrite[]): Promise<void> {
  if (writes.length === 0) return
  const rank = (s: CheckoutState) => (s === 'payment_pending' ? 1 : 2)
  const rows = [...writes.reduce((m, w) => {
    const old = m.get(w.sessionId)
    return old && rank(old.state) >= rank(w.state) ? m : m.set(w.sessionId, w)
  }, new Map<string, CheckoutWrite>()).values()].map(c => ({
    sessionId: c.sessionId, userId: c.userId, planId: c.planId, status: c.state, stripeSubscriptionId: c.subscriptionId, completedAt: c.state === 'complete' ? at(c.at) : null
  }))
  await tx.execute(sql`insert into checkout_sessions as s (session_id, user_id, plan_id, status, stripe_subscription_id, completed_at)
    select session_id, user_id, plan_id, status, stripe_subscription_id, completed_at from jsonb_populate_recordset(null::checkout_sessions, ${JSON.stringify(rows.map(r => ({
      session_id: r.sessionId, user_id: r.userId, plan_id: r.planId, status: r.status, stripe_subscription_id: r.stripeSubscriptionId, completed_at: r.completedAt
    })))}::jsonb)
    on conflict (session_id) do update set status = excluded.status, stripe_subscription_id = excluded.stripe_subscription_id,
      completed_at = coalesce(excluded.completed_at, s.completed_at)
    where ${RANK} < (case excluded.status when 'payment_pending' then 1 else 2 end)`)
}

/** The user's sessions still open that were recorded no later than `keep` (which is left out). */
export async function openCheckoutsBefore (db: Db, userId: string, keep: string): Promise<string[]> {
  const rows = await db.execute<{ session_id: string }>(sql`select session_id from checkout_sessions
    where user_id = ${userId} and status = 'open' and session_id <> ${keep}
      and created_at <= (select created_at from checkout_sessions where session_id = ${keep})`)
  return rows.map(r => r.session_id)
}

/** Sessions Stripe expired at Tollgate's request; one the worker moved on meanwhile keeps its state. */
export async function markCheckoutsExpired (db: Db, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return
  await db.update(checkoutSessions).set({ status: 'expired' })
    .where(sql`${checkoutSessions.sessionId} in ${sessionIds} and ${checkoutSessions.status} = 'open'`)
}
