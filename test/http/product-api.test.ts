import { applyDepsOf } from '../../src/queue/apply-ports.js'
import t from 'tap'
import { createApplyStripeEvent } from '../../src/billing/use-cases/apply-stripe-event.js'
import { parseCatalogue } from '../../src/billing/plans.js'
import { bootstrapCatalogue } from '../../src/stripe/bootstrap-catalogue.js'
import { toEventJob } from '../../src/stripe/webhook.js'
import { buildBillingApp } from '../helpers/billing.js'
import { waitFor } from '../helpers/env.js'

t.test('product API without webhooks', async t => {
  const { app, deps, call, control } = await buildBillingApp(t)

  t.test('the success page can be provisioned before the webhook arrives, once', async t => {
    const created = await call('POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: 'user_fast' })
    const id = created.json().session_id
    t.match((await call('GET', `/api/v1/checkout/${id}`)).json(), { session_id: id, status: 'open', user_id: 'user_fast', plan_id: 'pro', provisioned: false })
    await control(`checkout/${id}/complete`, { outcome: 'paid' })
    // The poll before payment found the session open; Stripe is read again once that answer is a few seconds old.
    const status = await waitFor(async () => { const res = await call('GET', `/api/v1/checkout/${id}`); return res.json().provisioned && res }, 'provisioned')
    t.equal(status.statusCode, 200)
    t.same(status.json(), { session_id: id, status: 'complete', user_id: 'user_fast', plan_id: 'pro', provisioned: true })
    t.match((await call('GET', '/api/v1/entitlements/user_fast')).json(), { plan_id: 'pro', status: 'active', access: true, features: { webhooks: true } })

    const event = (await deps.stripe.events.list({ type: 'checkout.session.completed' })).data.find(e => (e.data.object as { id: string }).id === id)!
    const apply = createApplyStripeEvent({ ...applyDepsOf(deps), graceDays: 3 })
    t.match(await apply(toEventJob(event)), { outcome: 'duplicate' }, 'the late webhook changes nothing')
    t.equal((await call('GET', '/api/v1/checkout/cs_test_unknown')).statusCode, 404)
  })

  t.test('plans are public, with live amounts', async t => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/plans' })
    t.equal(res.statusCode, 200)
    t.same(res.json().plans.map((p: { id: string }) => p.id), ['starter', 'pro', 'enterprise'])
    t.match(res.json().plans[1], { id: 'pro', unit_amount: 2900, currency: 'usd', interval: 'month', features: { webhooks: true } })
  })

  t.test('/docs/json lists every route with its schemas and the bearer scheme', async t => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' })
    t.equal(res.statusCode, 200, res.body.slice(0, 300))
    const doc = res.json()
    for (const [path, method] of [
      ['/api/v1/create-checkout', 'post'], ['/api/v1/checkout/{session_id}', 'get'], ['/api/v1/entitlements/{user_id}', 'get'],
      ['/api/v1/subscriptions/change-plan', 'post'], ['/api/v1/subscriptions/cancel-pending-change', 'post'], ['/api/v1/subscriptions/cancel', 'post'], ['/api/v1/subscriptions/resume', 'post'],
      ['/api/v1/billing-portal', 'post'], ['/api/v1/plans', 'get'], ['/api/v1/webhook', 'post']
    ] as const) {
      const op = doc.paths[path]?.[method]
      t.ok(op, `${method} ${path} documented`)
      t.ok(op?.responses?.['200'], `${path}: 200 response schema`)
      if (method === 'post' && path !== '/api/v1/webhook') t.ok(op?.requestBody, `${path}: request schema`)
    }
    t.same(doc.paths['/api/v1/create-checkout'].post.security, [{ bearerAuth: [] }])
    const schemaOf = (path: string) => JSON.stringify(doc.paths[path].post.requestBody)
    t.match(schemaOf('/api/v1/create-checkout'), 'promotion_code', 'create-checkout documents promotion_code')
    t.match(schemaOf('/api/v1/subscriptions/change-plan'), 'period_end', 'change-plan documents when')
    t.match(JSON.stringify(doc.paths['/api/v1/entitlements/{user_id}'].get.responses['200']), /trial_end[^]*pending_change[^]*discount/, 'the entitlement documents trial, pending change and discount')
    t.match(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer' })
    t.equal((await app.inject({ method: 'GET', url: '/docs' })).statusCode < 400, true, 'the UI is served')
  })

  t.test('stripe:bootstrap is idempotent and moves the lookup key when an amount changes', async t => {
    const second = await bootstrapCatalogue(deps.stripe, deps.catalogue)
    t.same(second.map(a => [a.product, a.price]), [['unchanged', 'unchanged'], ['unchanged', 'unchanged'], ['unchanged', 'unchanged']])
    const pricier = parseCatalogue({ currency: 'usd', plans: deps.catalogue.plans.map(p => (p.id === 'pro' ? { ...p, unit_amount: 3900 } : p)) })
    const changed = await bootstrapCatalogue(deps.stripe, pricier)
    t.same(changed.map(a => a.price), ['unchanged', 'replaced', 'unchanged'])
    const [live] = (await deps.stripe.prices.list({ lookup_keys: ['pro_monthly'], active: true })).data
    t.equal(live!.id, changed[1]!.price_id)
    t.equal(live!.unit_amount, 3900)
    const old = await deps.stripe.prices.retrieve(second[1]!.price_id)
    t.equal(old.active, true, 'the old price stays active for its subscribers')
    t.equal(old.lookup_key, null)
    t.same((await bootstrapCatalogue(deps.stripe, pricier)).map(a => a.price), ['unchanged', 'unchanged', 'unchanged'])
  })
})
