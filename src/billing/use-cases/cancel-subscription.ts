import { releaseSchedule, subscriptionOrFail, type SubscriptionCommandDeps } from './change-plan.js'
import { toSubscriptionView, type SubscriptionView } from './live-subscription.js'

/**
 * At period end (the default) the user keeps access until the period they paid for ends and can
 * resume until then; otherwise Stripe cancels now (its schedule with it) and access ends when the
 * worker applies it. Stripe refuses a cancellation at period end on a subscription a schedule
 * manages, and a plan change pending for that moment means nothing then: the schedule is released first.
 */
export async function cancelSubscription (deps: SubscriptionCommandDeps, userId: string, atPeriodEnd: boolean): Promise<SubscriptionView> {
  const sub = await subscriptionOrFail(deps, userId)
  if (atPeriodEnd) await releaseSchedule(deps.stripe, sub)
  const updated = atPeriodEnd
    ? await deps.stripe.subscriptions.update(sub.id, { cancel_at_period_end: true })
    : await deps.stripe.subscriptions.cancel(sub.id)
  return toSubscriptionView(userId, updated, deps.catalogue)
}

/** Undoes a cancellation scheduled for period end; a subscription that has ended needs a new checkout. */
export async function resumeSubscription (deps: SubscriptionCommandDeps, userId: string): Promise<SubscriptionView> {
  const sub = await subscriptionOrFail(deps, userId)
  // Resuming twice (a retried request) answers the same state.
  if (!sub.cancel_at_period_end) return toSubscriptionView(userId, sub, deps.catalogue)
  const updated = await deps.stripe.subscriptions.update(sub.id, { cancel_at_period_end: false })
  return toSubscriptionView(userId, updated, deps.catalogue)
}

