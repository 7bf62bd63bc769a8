import { and, asc, eq } from 'drizzle-orm'
import t from 'tap'
import { cancelPendingChange, changePlan } from '../../../src/billing/use-cases/change-plan.js'
import { cancelSubscription } from '../../../src/billing/use-cases/cancel-subscription.js'
import { productEvents } from '../../../src/db/schema.js'
import type { StripeEventJob } from '../../../src/queue/policy.js'
import { clockEnv } from './clock-helpers.js'

type Env = Awaited<ReturnType<typeof clockEnv>>
/** What the product heard of the user's pending change, oldest first. */
const scheduled = async (env: Env, userId: string) => (await env.deps.db.select().from(productEvents)
  .where(and(eq(productEvents.userId, userId), eq(productEvents.type, 'plan_change.scheduled'))).orderBy(asc(productEvents.seq)))
  .map(e => e.payload.data as { pending_change: unknown, entitlement: { plan_id: string } })
/** Applies new events, then every one of them again (Stripe redelivering). */
const applyTwice = async (env: Env) => {
  const { jobs } = await env.applyNew()
  for (const job of jobs) await env.apply(job as StripeEventJob)
}

async function subscribed (t: Parameters<typeof clockEnv>[0], userId: string, planId = 'pro') {
  const env = await clockEnv(t)
  const { clockId } = await env.userOnClock(userId)
  const { subscriptionId } = await env.checkout({ user_id: userId, plan_id: planId })
  await env.applyNew()
  const periodEnd = (await env.read(userId)).current_period_end!
  return { env, clockId, subscriptionId, periodEnd }
}

t.test('pro → starter waits for the period end: pro until the boundary, starter one second after', async t => {
  const { env, clockId, subscriptionId, periodEnd } = await subscribed(t, 'u_ada')
  const answer = await changePlan(env.deps, 'u_ada', 'starter')
  t.match(answer, { plan_id: 'pro', pending_change: { plan_id: 'starter', at: periodEnd } }, 'a downgrade is scheduled by default')
  await applyTwice(env)
  t.match(await env.read('u_ada'), { plan_id: 'pro', access: true, features: { webhooks: true }, pending_change: { plan_id: 'starter', at: periodEnd } })
  t.match(await scheduled(env, 'u_ada'), [{ pending_change: { plan_id: 'starter', at: periodEnd }, entitlement: { plan_id: 'pro' } }], 'plan_change.scheduled once, duplicates adding nothing')

  await env.advance(clockId, periodEnd - 1)
  await env.applyNew()
  t.match(await env.read('u_ada'), { plan_id: 'pro', features: { webhooks: true }, limits: { projects: 10 } }, 'one second before the boundary: pro')

  await env.advance(clockId, periodEnd + 1)
  await env.applyNew()
  t.match(await env.read('u_ada'), { plan_id: 'starter', status: 'active', access: true, features: { webhooks: false }, limits: { projects: 1 }, pending_change: null },
    'one second after: starter')
  t.match(await scheduled(env, 'u_ada'), [{ pending_change: { plan_id: 'starter' } }, { pending_change: null, entitlement: { plan_id: 'starter' } }], 'taken effect: nothing pending any more')
  const [invoice] = (await env.deps.stripe.invoices.list({ subscription: subscriptionId, limit: 1 })).data
  t.match(invoice, { status: 'paid', amount_paid: 900 }, 'the renewal bills the new plan')
})

t.test('a pending downgrade canceled keeps the plan past the boundary', async t => {
  const { env, clockId, periodEnd } = await subscribed(t, 'u_bo')
  await changePlan(env.deps, 'u_bo', 'starter')
  await env.applyNew()
  t.match(await env.read('u_bo'), { pending_change: { plan_id: 'starter' } })
  t.match(await cancelPendingChange(env.deps, 'u_bo'), { plan_id: 'pro', pending_change: null })
  await applyTwice(env)
  t.match(await env.read('u_bo'), { plan_id: 'pro', pending_change: null })
  t.match(await scheduled(env, 'u_bo'), [{ pending_change: { plan_id: 'starter' } }, { pending_change: null, entitlement: { plan_id: 'pro' } }], 'a canceled change is told as pending_change: null, once')
  t.match(await cancelPendingChange(env.deps, 'u_bo'), { plan_id: 'pro', pending_change: null }, 'twice answers the same')
  await env.advance(clockId, periodEnd + 1)
  await env.applyNew()
  t.match(await env.read('u_bo'), { plan_id: 'pro', status: 'active', access: true, pending_change: null })
})

t.test('a second change replaces the pending one; an upgrade now drops it; a cancellation at period end releases the schedule first', async t => {
  const { env, periodEnd } = await subscribed(t, 'u_cy', 'enterprise')
  await changePlan(env.deps, 'u_cy', 'starter')
  await env.applyNew()
  t.match(await env.read('u_cy'), { plan_id: 'enterprise', pending_change: { plan_id: 'starter', at: periodEnd } })
  // Only the schedule changes now (subscription_schedule.updated, nothing about the subscription).
  t.match(await changePlan(env.deps, 'u_cy', 'pro'), { plan_id: 'enterprise', pending_change: { plan_id: 'pro', at: periodEnd } }, 'the second change replaces the first')
  await applyTwice(env)
  t.match(await env.read('u_cy'), { plan_id: 'enterprise', pending_change: { plan_id: 'pro', at: periodEnd } })
  t.match(await scheduled(env, 'u_cy'), [{ pending_change: { plan_id: 'starter' } }, { pending_change: { plan_id: 'pro', at: periodEnd } }], 'a replaced change is told again')
  t.equal((await env.deps.stripe.subscriptionSchedules.list({ customer: (await env.deps.stripe.subscriptions.list({ limit: 1 })).data[0]!.customer as string })).data.length, 1, 'one schedule')

  t.match(await changePlan(env.deps, 'u_cy', 'pro', 'now'), { plan_id: 'pro', pending_change: null }, 'now: at once, the schedule let go')
  await env.applyNew()
  t.match(await env.read('u_cy'), { plan_id: 'pro', pending_change: null })
  t.match((await scheduled(env, 'u_cy')).at(-1), { pending_change: null, entitlement: { plan_id: 'pro' } }, 'the schedule let go: nothing pending any more')

  await changePlan(env.deps, 'u_cy', 'starter', 'period_end')
  t.match(await cancelSubscription(env.deps, 'u_cy', true), { cancel_at_period_end: true, pending_change: null })
  await env.applyNew()
  t.match(await env.read('u_cy'), { plan_id: 'pro', cancel_at_period_end: true, pending_change: null })
  t.equal((await scheduled(env, 'u_cy')).length, 3, 'a change scheduled and released before Tollgate applied it: nothing to tell')

  const upgrade = await subscribed(t, 'u_di', 'starter')
  t.match(await changePlan(upgrade.env.deps, 'u_di', 'pro'), { plan_id: 'pro', pending_change: null }, 'an upgrade happens now by default')
})

t.test('DOWNGRADE_AT=now makes downgrades immediate unless the request says otherwise', async t => {
  const env = await clockEnv(t, { DOWNGRADE_AT: 'now' })
  await env.userOnClock('u_ed')
  await env.checkout({ user_id: 'u_ed', plan_id: 'pro' })
  t.match(await changePlan(env.deps, 'u_ed', 'starter'), { plan_id: 'starter', pending_change: null })
})
