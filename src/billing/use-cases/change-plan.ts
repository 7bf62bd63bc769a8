import type Stripe from 'stripe'
import type { Db } from '../../db/client.js'
import { customerIdOf } from '../../db/customers-repo.js'
import type { Catalogue, Plan } from '../plans.js'
import { planItemOf, priceRefOf, SUBSCRIPTION_EXPAND } from '../../stripe/subscription-state.js'
import { overagePricesOrFail, planOrFail, priceOrFail } from './create-checkout.js'
import type { CachedPrice } from '../../stripe/price-cache.js'
import { liveSubscriptionOf, noSubscription, toSubscriptionView, type SubscriptionView } from './live-subscription.js'
import type { RedisClient } from '../../queue/connections.js'

export interface SubscriptionCommandDeps {
  db: Db
  stripe: Stripe
  redis: RedisClient
  catalogue: Catalogue
  config: { APP_URL: string, QUEUE_PREFIX: string, DOWNGRADE_AT: 'now' | 'period_end' }
}

export type ChangeWhen = 'now' | 'period_end'

/** The user's live subscription, or 404: commands act on what Stripe holds now. */
export async function subscriptionOrFail (deps: Pick<SubscriptionCommandDeps, 'db' | 'stripe'>, userId: string): Promise<Stripe.Subscription> {
  const customer = await customerIdOf(deps.db, userId)
  const sub = customer ? await liveSubscriptionOf(deps.stripe, customer) : null
  if (!sub) throw noSubscription(userId)
  return sub
}

const DAYS_PER = { day: 1, week: 7, month: 30, year: 365 } as const

/** A move to a plan that costs less per day than the current one (the catalogue's amounts). */
function isDowngrade (from: Plan | undefined, to: Plan): boolean {
  if (!from) return false
  return to.unit_amount / DAYS_PER[to.interval] < from.unit_amount / DAYS_PER[from.interval]
}

const scheduleIdOf = (sub: Stripe.Subscription) => (typeof sub.schedule === 'string' ? sub.schedule : sub.schedule?.id ?? null)

/** Lets go of the subscription's schedule, if any: the subscription keeps running as it is now. */
export async function releaseSchedule (stripe: Stripe, sub: Stripe.Subscription): Promise<void> {
  const id = scheduleIdOf(sub)
  if (id) await stripe.subscriptionSchedules.release(id)
}

/** The subscription as it stands after a command, read with its schedule so that the answer shows a pending change. */
async function viewOf (deps: SubscriptionCommandDeps, userId: string, id: string): Promise<SubscriptionView> {
  return toSubscriptionView(userId, await deps.stripe.subscriptions.retrieve(id, { expand: SUBSCRIPTION_EXPAND }), deps.catalogue)
}

/**
/**
 * The change at period end, as a Stripe subscription schedule: the current phase (same prices) until
 * the period ends, then the new plan's price with its metered overage prices. A schedule the
 * subscription has already (an earlier pending change, or one made in the billing portal) is
 * rewritten, so a second change replaces the first.
 */
async function scheduleChange (deps: SubscriptionCommandDeps, userId: string, sub: Stripe.Subscription, plan: Plan, priceId: string, metered: CachedPrice[]): Promise<void> {
  const item = planItemOf(sub)!
  // A metered price takes no quantity: its meter counts the overage Tollgate reports.
  const meteredNow = sub.items.data.filter(i => i !== item).map(i => ({ price: i.price.id }))
  const existing = scheduleIdOf(sub)
  const schedule = existing
    ? await deps.stripe.subscriptionSchedules.retrieve(existing)
    : await deps.stripe.subscriptionSchedules.create({ from_subscription: sub.id })
  const start = schedule.current_phase?.start_date ?? schedule.phases[0]!.start_date
  await deps.stripe.subscriptionSchedules.update(schedule.id, {
    end_behavior: 'release',
    proration_behavior: 'none',
    metadata: { user_id: userId, plan_id: plan.id },
    phases: [
      { items: [{ price: item.price.id, quantity: item.quantity ?? 1 }, ...meteredNow], start_date: start, end_date: item.current_period_end },
      { items: [{ price: priceId, quantity: item.quantity ?? 1 }, ...metered.map(m => ({ price: m.id }))], duration: { interval: plan.interval, interval_count: 1 }, metadata: { user_id: userId, plan_id: plan.id } }
    ]
  })
}

/**
 * Upgrade or downgrade. `now`: the subscription's one item gets the new plan's price, keeping its
 * item id (so Stripe swaps the price rather than adding a second line) and prorating the rest of
 * the period; a pending change is let go first. `period_end`: a schedule makes the change at the
 * period's end and the current plan holds until then. Unsaid, upgrades happen now and downgrades
 * as DOWNGRADE_AT says. Asking for the plan the subscription is on drops a pending change. The
 * answer is Stripe's new state; the entitlement follows when the worker applies its events.
 */
export async function changePlan (deps: SubscriptionCommandDeps, userId: string, planId: string, when?: ChangeWhen): Promise<SubscriptionView> {
  const plan = planOrFail(deps.catalogue, planId)
  const sub = await subscriptionOrFail(deps, userId)
  const [price, metered] = await Promise.all([priceOrFail(deps, plan), overagePricesOrFail(deps, plan)])
  const item = planItemOf(sub)!
  if (item.price.id === price.id) {
    if (!scheduleIdOf(sub)) return toSubscriptionView(userId, sub, deps.catalogue)
    await releaseSchedule(deps.stripe, sub)
    return await viewOf(deps, userId, sub.id)
  }
  const current = deps.catalogue.planOf(priceRefOf(item.price))
  const at = when ?? (isDowngrade(current, plan) ? deps.config.DOWNGRADE_AT : 'now')
  if (at === 'period_end') {
    await scheduleChange(deps, userId, sub, plan, price.id, metered)
    return await viewOf(deps, userId, sub.id)
  }
  await releaseSchedule(deps.stripe, sub)
  // Its metered overage items follow the new plan: swapped in place, added, or removed.
  const meteredItems = sub.items.data.filter(i => i !== item && i.price.recurring?.usage_type === 'metered')
  const overage = [
    ...metered.map((m, i) => (meteredItems[i] ? { id: meteredItems[i].id, price: m.id } : { price: m.id })),
    ...meteredItems.slice(metered.length).map(i => ({ id: i.id, deleted: true }))
  ]
  const updated = await deps.stripe.subscriptions.update(sub.id, {
    items: [{ id: item.id, price: price.id }, ...overage],
    proration_behavior: 'create_prorations',
    metadata: { plan_id: plan.id }
  })
  return toSubscriptionView(userId, updated, deps.catalogue)
}

/** Drops a change scheduled for period end: the schedule is released and the plan stays as it is. */
export async function cancelPendingChange (deps: SubscriptionCommandDeps, userId: string): Promise<SubscriptionView> {
  const sub = await subscriptionOrFail(deps, userId)
  // Twice (a retried request) answers the same state.
  if (!scheduleIdOf(sub)) return toSubscriptionView(userId, sub, deps.catalogue)
  await releaseSchedule(deps.stripe, sub)
  return await viewOf(deps, userId, sub.id)
}

