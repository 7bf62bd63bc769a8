import t from 'tap'
import { eq } from 'drizzle-orm'
import { readEntitlements } from '../../../src/billing/use-cases/read-entitlements.js'
import { customers } from '../../../src/db/schema.js'
import { checkoutPaid } from '../../helpers/stripe-emulator.js'
import { eventNow, lifecycleEnv } from './lifecycle-helpers.js'

const DAY = 86_400

/** A test clock as Stripe documents it (test_helpers.test_clock). */
const testClock = (id: string, frozenTime: number, status = 'ready') => ({
  id, object: 'test_helpers.test_clock', created: frozenTime - 60, deletes_after: frozenTime + 30 * DAY, frozen_time: frozenTime, livemode: false, name: null, status, status_details: {}
})

t.test('a customer on a Stripe test clock has access decided in that clock\'s time; everyone else in the host\'s', async t => {
  const { em, deps, config, prices, newEvents, apply, raw } = await lifecycleEnv(t)
  const read = (userId: string) => readEntitlements({ db: deps.db, redis: deps.redis, prefix: config.QUEUE_PREFIX, ttlSeconds: 300 }, userId)

  const ada = await checkoutPaid(deps.stripe, em, 'u_ada', 'pro', prices.pro!, 'ada@example.test')
  const bo = await checkoutPaid(deps.stripe, em, 'u_bo', 'pro', prices.pro!, 'bo@example.test')
  await deps.stripe.subscriptions.update(ada.subscriptionId, { cancel_at_period_end: true })
  await deps.stripe.subscriptions.update(bo.subscriptionId, { cancel_at_period_end: true })
  for (const job of await newEvents()) await apply(job)
  const periodEnd = (await raw(`subscriptions/${ada.subscriptionId}`)).items.data[0].current_period_end as number

  // Ada's subscription lives on a test clock (as Stripe says of her subscription and her customer).
  t.match(await apply(await eventNow(em, 'test_helpers.test_clock.created', testClock('clock_ada', periodEnd - 10 * DAY))), { outcome: 'applied' })
  const sub = await raw(`subscriptions/${ada.subscriptionId}`)
  await apply(await eventNow(em, 'customer.subscription.updated', { ...sub, test_clock: 'clock_ada' }))
  t.match((await deps.db.select().from(customers).where(eq(customers.userId, 'u_ada')))[0], { testClockId: 'clock_ada' }, 'the clock is learned')
  t.match(await read('u_ada'), { access: true, cancel_at_period_end: true }, 'ten days before the period ends in her clock\'s time')

  // Her clock advances to one second before the period end, then to the period end itself.
  await apply(await eventNow(em, 'test_helpers.test_clock.advancing', testClock('clock_ada', periodEnd - 1, 'advancing')))
  t.match(await read('u_ada'), { access: true }, 'one second before the period end: still access')
  await apply(await eventNow(em, 'test_helpers.test_clock.ready', testClock('clock_ada', periodEnd)))
  t.match(await read('u_ada'), { access: false, features: {}, limits: {} }, 'at the period end in her clock\'s time: none, though the host clock is a month earlier')
  await apply(await eventNow(em, 'test_helpers.test_clock.ready', testClock('clock_ada', periodEnd - DAY)))
  t.match(await read('u_ada'), { access: false }, 'a late, older clock event does not move her time back')

  t.match(await read('u_bo'), { access: true, cancel_at_period_end: true }, 'Bo is on no clock: the host\'s time, before his period end')
})
