import t from 'tap'
import { eq } from 'drizzle-orm'
import { createSyncUser } from '../../../src/billing/use-cases/sync-user.js'
import { subscriptions } from '../../../src/db/schema.js'
import { checkoutPaid } from '../../helpers/stripe-emulator.js'
import { lifecycleEnv } from './lifecycle-helpers.js'

const HOUR = 3600

t.test('an operator\'s sync stamps Stripe\'s time, so with the host clock ahead of Stripe\'s, later events still apply', async t => {
  const { em, deps, prices, newEvents, apply, applyDeps } = await lifecycleEnv(t)
  // Stripe's clock runs an hour behind this host's (the host is ahead).
  const stripeClock = em.emulator.ctx.clock as unknown as { offsetSeconds: number }
  stripeClock.offsetSeconds = -HOUR
  const hostAhead = () => Date.now()
  const syncUser = createSyncUser({ ...applyDeps, now: hostAhead })

  const { subscriptionId } = await checkoutPaid(deps.stripe, em, 'u_ada', 'pro', prices.pro!, 'ada@example.test')
  for (const job of await newEvents()) await apply(job)
  t.match(await syncUser('u_ada'), { subscriptions: [{ subscription_id: subscriptionId, outcome: 'applied' }] })
  const [synced] = await deps.db.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, subscriptionId))
  t.ok(synced!.stripeTime <= Math.floor(Date.now() / 1000) - HOUR + 5, `stamped in Stripe's time (${synced!.stripeTime}), not the host's`)

  // Minutes later in Stripe's time, still inside the skew, the customer cancels at period end.
  await em.control('clock/advance', { seconds: 120 })
  await deps.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true })
  const [update] = (await newEvents()).filter(j => j.event.type === 'customer.subscription.updated')
  t.match(await apply(update!), { outcome: 'applied' })
  const [row] = await deps.db.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, subscriptionId))
  t.equal(row!.cancelAtPeriodEnd, true, 'the real event inside the skew is not dropped as stale')
})
