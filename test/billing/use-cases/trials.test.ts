import t from 'tap'
import { fileURLToPath } from 'node:url'
import { and, eq, sql } from 'drizzle-orm'
import { bindNewCustomer } from '../../../src/db/customers-repo.js'
import { emailOutbox, productEvents, trialClaims } from '../../../src/db/schema.js'
import { renderEmail } from '../../../src/mail/templates.js'
import { clockEnv, DAY, T0 } from './clock-helpers.js'
import { truncateAll } from './lifecycle-helpers.js'

const PLANS_FILE = fileURLToPath(new URL('../../fixtures/plans-trials.json', import.meta.url))

type Env = Awaited<ReturnType<typeof clockEnv>>
const trialEvents = async (env: Env, userId: string) =>
  await env.deps.db.select().from(productEvents).where(and(eq(productEvents.userId, userId), eq(productEvents.type, 'trial.will_end')))

t.test('a trial with a card: trialing with the plan\'s access, one notice with the amount, then active on a paid invoice', async t => {
  const env = await clockEnv(t, { PLANS_FILE })
  const { clockId } = await env.userOnClock('u_ada')
  const { subscriptionId } = await env.checkout({ user_id: 'u_ada', plan_id: 'pro' })
  await env.applyNew()
  const trialEnd = T0 + 14 * DAY
  t.match(await env.read('u_ada'), { status: 'trialing', access: true, plan_id: 'pro', trial_end: trialEnd, features: { webhooks: true } })
  t.match(await env.deps.db.select().from(trialClaims), [{ userId: 'u_ada', stripeSubscriptionId: subscriptionId }], 'the trial is claimed')

  await env.advance(clockId, trialEnd - 2 * DAY)
  await env.applyNew()
  const mails = await env.deps.db.select().from(emailOutbox).where(eq(emailOutbox.template, 'trial_will_end'))
  t.equal(mails.length, 1, 'one trial notice')
  t.match(mails[0]!.data, { amount: 2900, currency: 'usd', has_card: true, trial_end: trialEnd })
  t.match((await trialEvents(env, 'u_ada')).map(e => e.payload.data), [{ trial_end: trialEnd, has_card: true, entitlement: { plan_id: 'pro', status: 'trialing' } }], 'the product hears of it too')
  t.match(renderEmail('trial_will_end', mails[0]!.data, { appUrl: 'http://app.example.test' }).text, /ends on 2030-01-29[^]*\$29\.00 will be charged/)
  t.match(await env.read('u_ada'), { status: 'trialing', access: true })

  await env.advance(clockId, trialEnd + 60)
  await env.applyNew()
  const e = await env.read('u_ada')
  t.match(e, { status: 'active', access: true, plan_id: 'pro', trial_end: null })
  t.ok(e.current_period_end! > trialEnd, 'a paid period follows the trial')
  const [invoice] = (await env.deps.stripe.invoices.list({ subscription: subscriptionId, limit: 1 })).data
  t.match(invoice, { status: 'paid', amount_paid: 2900 }, 'the first invoice after the trial is paid')
})

t.test('a trial without a card: access ends at trial_end exactly, the notice says to add a card, and a second checkout gets no trial', async t => {
  const env = await clockEnv(t, { PLANS_FILE })
  const { clockId } = await env.userOnClock('u_bo')
  const { subscriptionId } = await env.checkout({ user_id: 'u_bo', plan_id: 'starter' })
  const sub = await env.deps.stripe.subscriptions.retrieve(subscriptionId)
  t.match(sub, { status: 'trialing', default_payment_method: null, trial_settings: { end_behavior: { missing_payment_method: 'cancel' } } }, 'no card was asked for')
  const trialEnd = T0 + 7 * DAY
  await env.advance(clockId, trialEnd - 1)
  const { jobs } = await env.applyNew()
  t.match(await env.read('u_bo'), { status: 'trialing', access: true, trial_end: trialEnd, features: { api_access: true } }, 'one second before the end')
  const [mail] = await env.deps.db.select().from(emailOutbox).where(eq(emailOutbox.template, 'trial_will_end'))
  t.match(mail?.data, { has_card: false })
  t.match(renderEmail('trial_will_end', mail!.data, { appUrl: 'http://app.example.test' }).text, /No card is on file[^]*add a card here: http:\/\/app\.example\.test\/billing/)

  // The trial's notice again, twice more and under another event id (Stripe sending it anew), after later events.
  const notice = jobs.find(j => j.event.type === 'customer.subscription.trial_will_end')!
  await env.apply(notice)
  await env.apply({ ...notice, event: { ...notice.event, id: `${notice.event.id}_again`, created: notice.event.created + 5 } })
  t.equal((await env.deps.db.select().from(emailOutbox).where(eq(emailOutbox.template, 'trial_will_end'))).length, 1, 'one notice per trial, whatever the duplicates')
  const events = await trialEvents(env, 'u_bo')
  t.equal(events.length, 1, 'one trial.will_end product event per trial, whatever the duplicates')
  t.match(events[0]!.payload, { type: 'trial.will_end', data: { user_id: 'u_bo', trial_end: trialEnd, has_card: false, entitlement: { plan_id: 'starter', status: 'trialing', access: true } } })
  t.notMatch(JSON.stringify(events[0]!.payload), /pm_|card_|cus_|sub_/, 'whether a card is on file, never which')

  // The clock reaches trial_end: access ends then, before Stripe's cancellation is even applied.
  await env.advance(clockId, trialEnd)
  const { held } = await env.applyNew(j => j.event.type.startsWith('test_helpers.test_clock.'))
  t.match(await env.read('u_bo'), { access: false, features: {} }, 'at trial_end exactly, in the customer\'s clock')
  for (const job of held) await env.apply(job)
  t.match(await env.read('u_bo'), { status: 'canceled', access: false })

  const again = await env.checkout({ user_id: 'u_bo', plan_id: 'pro' })
  await env.applyNew()
  t.match(await env.deps.stripe.subscriptions.retrieve(again.subscriptionId), { status: 'active', trial_end: null }, 'the second checkout starts without a trial')
  t.match(await env.read('u_bo'), { status: 'active', access: true, plan_id: 'pro', trial_end: null })
  t.equal((await env.deps.db.select().from(trialClaims)).length, 1, 'the first trial\'s claim stays')
})

t.test('the claim is kept by Stripe customer too: another user id on that customer gets no trial', async t => {
  const env = await clockEnv(t, { PLANS_FILE })
  const { customerId } = await env.userOnClock('u_cy')
  await env.checkout({ user_id: 'u_cy', plan_id: 'starter' })
  await env.applyNew()
  await env.deps.db.insert(trialClaims).values({ userId: 'u_cy_old', stripeCustomerId: customerId, stripeSubscriptionId: 'sub_old' }).onConflictDoNothing()
  const { hadTrial } = await import('../../../src/db/trial-claims-repo.js')
  t.equal(await hadTrial(env.deps.db, 'u_new', customerId), true, 'known by customer')
  t.equal(await hadTrial(env.deps.db, 'u_new', 'cus_other'), false)
})

t.test('the trial notice is one email whatever the order and duplicates of the trial\'s events', async t => {
  const env = await clockEnv(t, { PLANS_FILE })
  const { clockId, customerId } = await env.userOnClock('u_di')
  await env.checkout({ user_id: 'u_di', plan_id: 'starter' })
  await env.advance(clockId, T0 + 6 * DAY)
  const { jobs } = await env.applyNew(() => false)
  t.ok(jobs.some(j => j.event.type === 'customer.subscription.trial_will_end'))
  for (const order of [[...jobs].reverse(), [...jobs, ...jobs].reverse(), jobs.flatMap(j => [j, j])]) {
    await truncateAll(env.deps)
    await env.deps.db.execute(sql`truncate product_events, product_deliveries`)
    await bindNewCustomer(env.deps.db, { userId: 'u_di', customerId, email: 'u_di@example.test', testClock: clockId })
    for (const job of order) await env.apply(job)
    const mails = await env.deps.db.select().from(emailOutbox)
    t.same(mails.map(m => m.template), ['trial_will_end'], 'one notice')
    t.equal((await trialEvents(env, 'u_di')).length, 1, 'one trial.will_end product event')
    t.match(await env.read('u_di'), { status: 'trialing', access: true })
  }
})

t.test('a trial whose first charge fails follows the payment-failed path', async t => {
  const env = await clockEnv(t, { PLANS_FILE })
  const { clockId, customerId } = await env.userOnClock('u_ed')
  await env.checkout({ user_id: 'u_ed', plan_id: 'pro' })
  await env.em.control(`customers/${customerId}/fail-payments`, { fail: true })
  await env.advance(clockId, T0 + 14 * DAY + 60)
  await env.applyNew()
  t.match(await env.read('u_ed'), { status: 'past_due', access: true, plan_id: 'pro' }, 'the grace period')
  t.same((await env.deps.db.select().from(emailOutbox)).map(m => m.template).sort(), ['payment_failed', 'trial_will_end'])
})

t.test('a plan whose cardless trial pauses: paused at trial_end, access ends then', async t => {
  const env = await clockEnv(t, { PLANS_FILE })
  const { clockId } = await env.userOnClock('u_fa')
  const { subscriptionId } = await env.checkout({ user_id: 'u_fa', plan_id: 'enterprise' })
  t.match(await env.deps.stripe.subscriptions.retrieve(subscriptionId), { trial_settings: { end_behavior: { missing_payment_method: 'pause' } } })
  await env.applyNew()
  t.match(await env.read('u_fa'), { status: 'trialing', access: true, trial_end: T0 + 7 * DAY })
  await env.advance(clockId, T0 + 7 * DAY)
  await env.applyNew()
  t.match(await env.read('u_fa'), { status: 'paused', access: false, features: {} })
})
