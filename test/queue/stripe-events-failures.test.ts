import t from 'tap'
import { UnrecoverableError, type Job } from 'bullmq'
import { eq } from 'drizzle-orm'
import Stripe from 'stripe'
import { stripeEvents, subscriptions } from '../../src/db/schema.js'
import { createStripeEventProcessor } from '../../src/queue/processors/stripe-events.js'
import type { StripeEventJob } from '../../src/queue/policy.js'
import { checkoutPaid } from '../helpers/stripe-emulator.js'
import { lifecycleEnv } from '../billing/use-cases/lifecycle-helpers.js'

const fakeJob = (data: StripeEventJob, attemptsMade = 0) => ({ data, attemptsMade, opts: { attempts: 12 } }) as unknown as Job<StripeEventJob>

t.test('an event Stripe cannot back up goes to the dead-letter queue at once, recorded as failed, and applies on replay', async t => {
  const { em, deps, prices, newEvents } = await lifecycleEnv(t)
  const process = createStripeEventProcessor(deps)
  const { subscriptionId } = await checkoutPaid(deps.stripe, em, 'u_dl', 'pro', prices.pro!, 'dl@example.test')
  const created = (await newEvents()).find(j => j.event.type === 'customer.subscription.created')!
  // An event that names a subscription without carrying it (as an operator's sync does) is applied from a read of Stripe.
  const orphan: StripeEventJob = { ...created, event: { ...created.event, id: 'evt_orphan', data: { object: { id: 'sub_missing', object: 'subscription' } } } }

  await t.rejects(process(fakeJob(orphan)), UnrecoverableError, 'no retries for a subscription Stripe does not know')
  t.match((await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, 'evt_orphan')))[0], { outcome: 'failed', error: /sub_missing/ })
  t.same(await deps.db.select().from(subscriptions), [], 'nothing half-applied')

  // An operator finds the cause and replays the job: the failed claim is taken again.
  const fixed: StripeEventJob = { ...orphan, event: { ...orphan.event, data: { object: { id: subscriptionId, object: 'subscription' } } } }
  t.match(await process(fakeJob(fixed)), { outcome: 'applied', userId: 'u_dl' })
  t.match((await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, 'evt_orphan')))[0], { outcome: 'applied', error: null, userId: 'u_dl' })
})

t.test('a Stripe outage retries, and only the last attempt is recorded as failed', async t => {
  const { em, deps, prices, newEvents } = await lifecycleEnv(t)
  const process = createStripeEventProcessor(deps)
  await checkoutPaid(deps.stripe, em, 'u_503', 'pro', prices.pro!, 'x@example.test')
  // The checkout completion carries no subscription state: with none stored, applying it needs Stripe.
  const job = (await newEvents()).find(j => j.event.type === 'checkout.session.completed')!
  // Three 503s: the SDK's first try and its two retries.
  await em.control('fail-api', { status: 503, count: 3 })
  const err = await process(fakeJob(job, 0)).then(() => null, (e: unknown) => e)
  t.ok(err instanceof Stripe.errors.StripeAPIError, `the attempt failed on Stripe: ${String(err)}`)
  t.equal((err as Stripe.errors.StripeError | null)?.statusCode, 503)
  t.notOk(err instanceof UnrecoverableError, 'transient: BullMQ retries with backoff')
  t.same(await deps.db.select().from(stripeEvents), [], 'an early attempt leaves no trace')
  await em.control('fail-api', { status: 503, count: 3 })
  const last = await process(fakeJob(job, 11)).then(() => null, (e: unknown) => e)
  t.ok(last instanceof Stripe.errors.StripeAPIError && last.statusCode === 503, 'the last attempt failed on Stripe too')
  t.match(await deps.db.select().from(stripeEvents), [{ eventId: job.event.id, outcome: 'failed', error: /./ }], 'the last attempt leaves a failed row for the dead-letter listing')
  t.match(await process(fakeJob(job, 0)), { outcome: 'applied' })
})
