import t from 'tap'
import { eq } from 'drizzle-orm'
import { emailOutbox, stripeEvents, subscriptions } from '../../../src/db/schema.js'
import type { StripeEventJob } from '../../../src/queue/policy.js'
import { toEventJobInPlace, verifyStripeEvent } from '../../../src/stripe/webhook.js'
import { signBody, WEBHOOK_SECRET } from '../../helpers/env.js'
import { checkoutPaid } from '../../helpers/stripe-emulator.js'
import { lifecycleEnv } from './lifecycle-helpers.js'

const DAY = 86_400
const ACACIA = '2025-02-24.acacia'
type Obj = Record<string, any>

// What Stripe sends an endpoint (or `stripe listen` without --latest) still on 2025-02-24.acacia,
// per Stripe's changelog for 2025-03-31.basil: an invoice names its subscription at the top
// (`subscription`, `subscription_details`) rather than under `parent`, and a subscription carries its
// period at the top rather than on its items.
const acaciaInvoice = ({ parent, ...invoice }: Obj): Obj => ({
  ...invoice,
  subscription: parent?.subscription_details?.subscription ?? null,
  subscription_details: { metadata: parent?.subscription_details?.metadata ?? null }
})
const acaciaSubscription = (sub: Obj): Obj => ({
  ...sub,
  current_period_start: sub.items.data[0].current_period_start,
  current_period_end: sub.items.data[0].current_period_end,
  items: { ...sub.items, data: sub.items.data.map(({ current_period_start: _s, current_period_end: _e, ...item }: Obj) => item) }
})

/** The job the api queues for `event` rendered in another version: signed, verified and stripped as a webhook is. */
function delivered (event: StripeEventJob['event'], version: string, object: Obj): StripeEventJob {
  const body = JSON.stringify({ ...event, object: 'event', api_version: version, data: { object } })
  return toEventJobInPlace(verifyStripeEvent(Buffer.from(body), signBody(body), [WEBHOOK_SECRET], 300))
}

t.test('an invoice.payment_failed in acacia shape, then its pinned copy: the email is written once and not lost', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const { customerId } = await checkoutPaid(deps.stripe, em, 'u_ada', 'starter', prices.starter!, 'ada@example.test')
  for (const job of await newEvents()) await apply(job)
  await em.control(`customers/${customerId}/fail-payments`, { fail: true })
  await em.control('clock/advance', { seconds: 31 * DAY })
  const jobs = await newEvents()
  const pinned = jobs.find(j => j.event.type === 'invoice.payment_failed')!
  for (const job of jobs.filter(j => j !== pinned)) await apply(job)

  const old = delivered(pinned.event, ACACIA, acaciaInvoice(pinned.event.data.object))
  t.equal(old.event.api_version, ACACIA)
  t.match(await apply(old), { outcome: 'applied', userId: 'u_ada' }, 'the acacia copy is applied from the invoice read again in the pinned version')
  t.match(await apply(pinned), { outcome: 'duplicate' }, 'the pinned copy is the same event')
  const mails = await deps.db.select().from(emailOutbox)
  t.equal(mails.length, 1, 'one email')
  t.match(mails[0], { template: 'payment_failed', to: 'ada@example.test', userId: 'u_ada', data: { invoice_id: pinned.event.data.object.id } })
  t.match((await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, pinned.event.id)))[0], { outcome: 'applied', userId: 'u_ada' })
})

t.test('a subscription event in acacia shape is applied from the subscription as the pinned version renders it', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const { subscriptionId } = await checkoutPaid(deps.stripe, em, 'u_bo', 'pro', prices.pro!, 'bo@example.test')
  for (const job of await newEvents()) await apply(job)
  await em.control('clock/advance', { seconds: DAY })
  await deps.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true })
  const [update] = (await newEvents()).filter(j => j.event.type === 'customer.subscription.updated')
  t.match(await apply(delivered(update!.event, ACACIA, acaciaSubscription(update!.event.data.object))), { outcome: 'applied', userId: 'u_bo' })
  const periodEnd = (await deps.stripe.subscriptions.retrieve(subscriptionId)).items.data[0]!.current_period_end
  const [row] = await deps.db.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, subscriptionId))
  t.match(row, { cancelAtPeriodEnd: true, access: true }, 'the change itself')
  t.equal(row!.currentPeriodEnd?.getTime(), periodEnd * 1000, 'the period end, which acacia carries elsewhere')
  t.equal(row!.accessUntil?.getTime(), periodEnd * 1000, 'access until it')
})

t.test('an event in another version whose object cannot be read again is parked with the reason, never recorded as ignored', async t => {
  const { deps, newEvents, apply, em, prices } = await lifecycleEnv(t)
  await checkoutPaid(deps.stripe, em, 'u_cy', 'starter', prices.starter!, 'cy@example.test')
  const paid = (await newEvents()).find(j => j.event.type === 'invoice.paid')!
  const ghost = delivered({ ...paid.event, id: 'evt_acacia_ghost' }, ACACIA, acaciaInvoice({ ...paid.event.data.object, id: 'in_missing' }))
  await t.rejects(apply(ghost), { name: 'UnappliableEventError', code: 'foreign_version_unreadable', message: /2025-02-24\.acacia.*in_missing/ })
  t.same(await deps.db.select().from(stripeEvents).where(eq(stripeEvents.eventId, 'evt_acacia_ghost')), [], 'no claim: a replay can still apply it')
  const other = delivered({ ...paid.event, id: 'evt_acacia_other', type: 'charge.succeeded' }, ACACIA, { id: 'ch_1', object: 'charge' })
  t.match(await apply(other), { outcome: 'ignored', note: 'event type not handled' }, 'a type Tollgate does not handle needs no read: types are the same in every version')
})
