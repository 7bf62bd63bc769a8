import t from 'tap'
import { pino } from 'pino'
import { startWorkers } from '../../src/queue/workers.js'
import { buildBillingApp } from '../helpers/billing.js'
import { waitFor } from '../helpers/env.js'

const DAY = 86_400

t.test('subscription lifecycle through the API, the emulator and the worker', async t => {
  // Entitlements stay cached for a day: every change below becomes visible through the API only
  // because the worker invalidates the user's cached entitlement after it commits the change.
  const { deps, call, control } = await buildBillingApp(t, { RATE_LIMIT_USER_PER_MINUTE: '1000', ENTITLEMENTS_CACHE_TTL_SECONDS: '86400' }, { webhooks: true })
  const workers = startWorkers(deps, ['stripe-events'], pino({ level: 'silent' }), { concurrency: 4 })
  t.teardown(() => workers.close())
  const entitlements = async (user: string) => (await call('GET', `/api/v1/entitlements/${user}`)).json()
  const subscribe = async (user: string, plan: string) => {
    const res = await call('POST', '/api/v1/create-checkout', { plan_id: plan, user_id: user, email: `${user}@example.com` })
    await control(`checkout/${res.json().session_id}/complete`, { outcome: 'paid' })
    return res.json().session_id as string
  }

  t.test('a user with nothing', async t => {
    const res = await call('GET', '/api/v1/entitlements/nobody')
    t.equal(res.statusCode, 200)
    t.same(res.json(), { user_id: 'nobody', plan_id: null, status: 'none', access: false, features: {}, limits: {}, current_period_end: null, cancel_at_period_end: false, trial_end: null, pending_change: null, discount: null, usage: {} })
  })

  t.test('pro → starter waits for the period end; cancel-pending-change drops it', async t => {
    await subscribe('user_down', 'pro')
    const active = await waitFor(async () => { const e = await entitlements('user_down'); return e.plan_id === 'pro' && e }, 'pro entitlement')
    const bad = await call('POST', '/api/v1/subscriptions/change-plan', { user_id: 'user_down', plan_id: 'starter', when: 'tomorrow' })
    t.equal(bad.statusCode, 400)
    const res = await call('POST', '/api/v1/subscriptions/change-plan', { user_id: 'user_down', plan_id: 'starter' })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { plan_id: 'pro', pending_change: { plan_id: 'starter', at: active.current_period_end } })
    const pending = await waitFor(async () => { const e = await entitlements('user_down'); return e.pending_change && e }, 'pending change applied')
    t.match(pending, { plan_id: 'pro', features: { webhooks: true }, pending_change: { plan_id: 'starter', at: active.current_period_end } })
    const drop = await call('POST', '/api/v1/subscriptions/cancel-pending-change', { user_id: 'user_down' })
    t.equal(drop.statusCode, 200)
    t.match(drop.json(), { plan_id: 'pro', pending_change: null })
    await waitFor(async () => (await entitlements('user_down')).pending_change === null, 'pending change dropped')
    t.equal((await call('POST', '/api/v1/subscriptions/cancel-pending-change', { user_id: 'nobody' })).statusCode, 404)
  })

  t.test('starter → pro: a proration in Stripe, then the entitlements of pro', async t => {
    const sessionId = await subscribe('user_up', 'starter')
    await waitFor(async () => (await entitlements('user_up')).plan_id === 'starter', 'starter entitlement')
    const status = await call('GET', `/api/v1/checkout/${sessionId}`)
    t.match(status.json(), { session_id: sessionId, status: 'complete', user_id: 'user_up', plan_id: 'starter', provisioned: true })

    const before = (await deps.stripe.subscriptions.list({ status: 'all', limit: 100 })).data.find(s => s.metadata.user_id === 'user_up')!
    const res = await call('POST', '/api/v1/subscriptions/change-plan', { user_id: 'user_up', plan_id: 'pro' })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { user_id: 'user_up', subscription_id: before.id, plan_id: 'pro', status: 'active', cancel_at_period_end: false })
    const after = await deps.stripe.subscriptions.retrieve(before.id)
    t.equal(before.items.data.length, 1, 'starter bills no overage')
    t.same(after.items.data.map(i => i.price.lookup_key), ['pro_monthly', 'pro_monthly_requests_per_month_overage'], 'pro gains its metered overage price')
    t.equal(after.items.data[0]!.id, before.items.data[0]!.id, 'same subscription item')
    const prorations = (await deps.stripe.invoiceItems.list({ customer: after.customer as string, limit: 100 })).data.filter(i => i.proration)
    t.ok(prorations.length >= 1, 'proration items exist')
    t.ok(prorations.some(i => i.amount < 0) && prorations.some(i => i.amount > 0), 'credit for starter, charge for pro')

    const pro = await waitFor(async () => { const e = await entitlements('user_up'); return e.plan_id === 'pro' && e }, 'pro entitlement')
    t.match(pro, { access: true, status: 'active', features: { webhooks: true }, limits: { projects: 10 } })

    // The metered overage item follows the plan: swapped in place, then removed on a plan without overage.
    await call('POST', '/api/v1/subscriptions/change-plan', { user_id: 'user_up', plan_id: 'enterprise' })
    const top = await deps.stripe.subscriptions.retrieve(before.id)
    t.same(top.items.data.map(i => i.price.lookup_key), ['enterprise_monthly', 'enterprise_monthly_requests_per_month_overage'])
    t.equal(top.items.data[1]!.id, after.items.data[1]!.id, 'the same metered item, on the new price')
    await call('POST', '/api/v1/subscriptions/change-plan', { user_id: 'user_up', plan_id: 'starter', when: 'now' })
    t.same((await deps.stripe.subscriptions.retrieve(before.id)).items.data.map(i => i.price.lookup_key), ['starter_monthly'], 'starter has no overage item')
  })

  t.test('cancel at period end keeps access until the clock passes the period end, then revokes; resume undoes it', async t => {
    await subscribe('user_leaving', 'starter')
    await waitFor(async () => (await entitlements('user_leaving')).access, 'access granted')

    const cancel = await call('POST', '/api/v1/subscriptions/cancel', { user_id: 'user_leaving' })
    t.equal(cancel.statusCode, 200)
    t.match(cancel.json(), { cancel_at_period_end: true, status: 'active' })
    const resume = await call('POST', '/api/v1/subscriptions/resume', { user_id: 'user_leaving' })
    t.match(resume.json(), { cancel_at_period_end: false, status: 'active' })
    await call('POST', '/api/v1/subscriptions/cancel', { user_id: 'user_leaving', at_period_end: true })

    const pending = await waitFor(async () => { const e = await entitlements('user_leaving'); return e.cancel_at_period_end && e }, 'cancel flag applied')
    t.match(pending, { access: true, status: 'active', plan_id: 'starter' }, 'still has access before period end')

    await control('clock/advance', { seconds: 20 * DAY })
    t.match(await entitlements('user_leaving'), { access: true }, 'mid-period: access kept')
    await control('clock/advance', { seconds: 15 * DAY })
    const gone = await waitFor(async () => { const e = await entitlements('user_leaving'); return !e.access && e }, 'access revoked')
    t.match(gone, { status: 'canceled', access: false, features: {}, limits: {} })
  })

  t.test('cancel now ends the subscription at once', async t => {
    await subscribe('user_now', 'pro')
    await waitFor(async () => (await entitlements('user_now')).access, 'access granted')
    const res = await call('POST', '/api/v1/subscriptions/cancel', { user_id: 'user_now', at_period_end: false })
    t.match(res.json(), { status: 'canceled' })
    await waitFor(async () => !(await entitlements('user_now')).access, 'access revoked')
    const again = await call('POST', '/api/v1/subscriptions/change-plan', { user_id: 'user_now', plan_id: 'starter' })
    t.equal(again.statusCode, 404)
    t.equal(again.json().error, 'no_subscription')
  })

  t.test('billing portal answers a Stripe portal URL returning to APP_URL', async t => {
    const res = await call('POST', '/api/v1/billing-portal', { user_id: 'user_up' })
    t.equal(res.statusCode, 200)
    t.match(res.json().url, /\/billing_portal\/bps_/)
    const sessions = (await (await fetch(`${deps.config.STRIPE_API_BASE}/_emulator/state`)).json()) as any
    t.ok(JSON.stringify(sessions).includes('http://app.example.test/billing'), 'return URL from APP_URL')
    const none = await call('POST', '/api/v1/billing-portal', { user_id: 'stranger' })
    t.equal(none.statusCode, 404)
  })
})
