import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import t from 'tap'
import { createTollgate, TollgateUnavailableError, type FailureMode, type Tollgate } from '../../clients/typescript/src/index.js'
import * as onExpress from '../../clients/typescript/src/express.js'
import * as onFastify from '../../clients/typescript/src/fastify.js'
import { startJourney } from '../e2e/harness.js'
import { ADMIN_TOKEN, API_KEY, rid, signBody, waitFor } from '../helpers/env.js'

// @tollgate/client against a real Tollgate: the api and a worker as processes, the emulator as Stripe.

t.setTimeout(240_000)
const j = await startJourney(t, { workers: 1 })
const tollgate = createTollgate({ baseUrl: j.api, apiKey: API_KEY, cacheTtlMs: 60_000 })
const admin = createTollgate({ baseUrl: `${j.api}/`, apiKey: ADMIN_TOKEN }).api
const fresh = createTollgate({ baseUrl: j.api, apiKey: API_KEY, cacheTtlMs: 0 })
const user = `u_${rid()}`
const stranger = `u_${rid()}`

/** Polls Tollgate (uncached) until the user's entitlement satisfies `ok`. */
const entitlementWhere = (userId: string, what: string, ok: (e: Awaited<ReturnType<Tollgate['entitlement']>>) => boolean) =>
  waitFor(async () => { const e = await fresh.entitlement(userId); return ok(e) && e }, `${userId}: ${what}`, 30_000)

/** A tiny product on Fastify: /work needs access, /sso needs the sso feature, the user comes in x-user-id. */
async function fastifyProduct (client: Tollgate) {
  const app = Fastify()
  const userId = (req: { headers: Record<string, unknown> }) => req.headers['x-user-id'] as string | undefined
  app.get('/work', { preHandler: onFastify.requireAccess(client, { userId }) }, async req => ({ done: true, plan: req.tollgate?.reason === 'ok' ? req.tollgate.entitlement.plan_id : null }))
  app.get('/sso', { preHandler: onFastify.requireFeature(client, 'sso', { userId }) }, async () => ({ sso: true }))
  t.teardown(() => app.close())
  await app.ready()
  return async (path: string, userId?: string) => {
    const res = await app.inject({ method: 'GET', url: path, headers: userId ? { 'x-user-id': userId } : {} })
    return { status: res.statusCode, body: res.json() }
  }
}

/** The same product on Express. */
async function expressProduct (client: Tollgate) {
  const app = express()
  const userId = (req: express.Request) => req.header('x-user-id')
  app.get('/work', onExpress.requireAccess(client, { userId }), (_req, res) => { res.json({ done: true, plan: res.locals.tollgate.entitlement?.plan_id ?? null }) })
  app.get('/sso', onExpress.requireFeature(client, 'sso', { userId }), (_req, res) => { res.json({ sso: true }) })
  const server = http.createServer(app)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => { server.closeAllConnections(); server.close(resolve) }))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return async (path: string, userId?: string) => {
    const res = await fetch(`${base}${path}`, { headers: userId ? { 'x-user-id': userId } : {} })
    return { status: res.status, body: await res.json() }
  }
}

t.test('every product route, typed end to end', async t => {
  const live = await tollgate.api.GET('/health/live')
  t.same(live.data, { status: 'ok' })
  const ready = await tollgate.api.GET('/health/ready')
  t.equal(ready.response.status, 200)

  const plans = await tollgate.api.GET('/api/v1/plans')
  t.same(plans.data?.plans.map(p => p.id), ['starter', 'pro', 'enterprise'])

  const none = await tollgate.api.GET('/api/v1/entitlements/{user_id}', { params: { path: { user_id: stranger } } })
  t.match(none.data, { user_id: stranger, plan_id: null, status: 'none', access: false })

  const bad = await tollgate.api.POST('/api/v1/create-checkout', { body: { plan_id: 'platinum', user_id: user } })
  t.equal(bad.response.status, 400)
  t.match(bad.error, { error: String }, 'errors come back typed, as { error, message }')

  const created = await tollgate.api.POST('/api/v1/create-checkout', { body: { plan_id: 'pro', user_id: user, email: `${user}@example.test` } })
  t.match(created.data, { checkout_url: /^http/, session_id: /^cs_/ })
  const sessionId = created.data!.session_id
  const open = await tollgate.api.GET('/api/v1/checkout/{session_id}', { params: { path: { session_id: sessionId } } })
  t.match(open.data, { session_id: sessionId, user_id: user, plan_id: 'pro', provisioned: false })
  await j.control(`checkout/${sessionId}/complete`, { outcome: 'paid' })
  await waitFor(async () => (await tollgate.api.GET('/api/v1/checkout/{session_id}', { params: { path: { session_id: sessionId } } })).data?.provisioned, 'provisioned', 30_000)
  await entitlementWhere(user, 'pro', e => e.plan_id === 'pro' && e.access)

  const changed = await tollgate.api.POST('/api/v1/subscriptions/change-plan', { body: { user_id: user, plan_id: 'enterprise' } })
  t.match(changed.data, { user_id: user, plan_id: 'enterprise' })
  await entitlementWhere(user, 'enterprise', e => e.plan_id === 'enterprise' && e.features.sso === true)

  const consumed = await tollgate.consume(user, 'requests_per_month', { quantity: 2, idempotencyKey: 'req-1' })
  t.match(consumed, { allowed: true, reason: 'ok', usage: { metric: 'requests_per_month', used: 2 } })
  t.match(await tollgate.consume(user, 'requests_per_month', { quantity: 2, idempotencyKey: 'req-1' }), { usage: { used: 2 } }, 'a retried key counts once')
  const recorded = await tollgate.api.POST('/api/v1/usage/record', { body: { user_id: user, metric: 'requests_per_month', quantity: 3 } })
  t.match(recorded.data, { allowed: true, used: 5 })
  const usage = await tollgate.api.GET('/api/v1/usage/{user_id}', { params: { path: { user_id: user } } })
  t.match(usage.data, { user_id: user, usage: { requests_per_month: { used: 5 } } })
  t.match(await tollgate.consume(stranger, 'requests_per_month'), { allowed: false, reason: 'no_access' })
  await t.rejects(tollgate.consume(user, 'no_such_metric'), /refused the usage count \(400\)/)

  const later = await tollgate.api.POST('/api/v1/subscriptions/change-plan', { body: { user_id: user, plan_id: 'pro', when: 'period_end' } })
  t.match(later.data, { user_id: user, plan_id: 'enterprise', pending_change: { plan_id: 'pro' } })
  const dropped = await tollgate.api.POST('/api/v1/subscriptions/cancel-pending-change', { body: { user_id: user } })
  t.match(dropped.data, { user_id: user, plan_id: 'enterprise', pending_change: null })

  const canceling = await tollgate.api.POST('/api/v1/subscriptions/cancel', { body: { user_id: user, at_period_end: true } })
  t.match(canceling.data, { user_id: user, cancel_at_period_end: true })
  const resumed = await tollgate.api.POST('/api/v1/subscriptions/resume', { body: { user_id: user } })
  t.match(resumed.data, { user_id: user, cancel_at_period_end: false })

  const portal = await tollgate.api.POST('/api/v1/billing-portal', { body: { user_id: user } })
  t.match(portal.data, { url: /^http/ })
  const unknown = await tollgate.api.POST('/api/v1/billing-portal', { body: { user_id: stranger } })
  t.equal(unknown.response.status, 404)

  const body = JSON.stringify({ id: 'evt_client', type: 'ping', object: 'event', data: { object: {} } })
  const unsigned = await tollgate.api.POST('/api/v1/webhook', { params: { header: { 'stripe-signature': 't=1,v1=00' } }, body: JSON.parse(body), bodySerializer: () => body })
  t.equal(unsigned.response.status, 400, 'the webhook route refuses an unsigned body')
  const signed = await tollgate.api.POST('/api/v1/webhook', { params: { header: { 'stripe-signature': signBody(body) } }, body: JSON.parse(body), bodySerializer: () => body })
  t.same(signed.data, { status: 'received' })

  const wrongKey = await createTollgate({ baseUrl: j.api, apiKey: 'not-a-key-0123456789' }).api.GET('/api/v1/entitlements/{user_id}', { params: { path: { user_id: user } } })
  t.equal(wrongKey.response.status, 401)
})

t.test('every admin route, with the admin token', async t => {
  await j.settled()
  const events = await admin.GET('/admin/events', { params: { query: { limit: 100 } } })
  t.ok(events.data!.data.length > 0, 'events are listed')
  const eventId = events.data!.data[0]!.event_id
  const replay = await admin.POST('/admin/events/{event_id}/replay', { params: { path: { event_id: eventId } } })
  t.ok([202, 409].includes(replay.response.status), `replay answers ${replay.response.status}`)
  const failed = await admin.GET('/admin/jobs/failed', { params: { query: { queue: 'stripe-events', limit: 10 } } })
  t.same(failed.data?.data, [])
  const retried = await admin.POST('/admin/jobs/failed/retry', { body: { queue: 'email' } })
  t.same(retried.data, { retried: [] })
  const synced = await admin.POST('/admin/users/{user_id}/sync', { params: { path: { user_id: user } } })
  t.match(synced.data, { user_id: user, customer_id: /^cus_/ })
  const timeline = await admin.GET('/admin/users/{user_id}/timeline', { params: { path: { user_id: user } } })
  t.equal(timeline.response.status, 200)
  const notAdmin = await tollgate.api.GET('/admin/events', { params: { query: { limit: 1 } } })
  t.equal(notAdmin.response.status, 401, 'an API key is no admin token')
})

t.test('the guards on Fastify and Express: access, a feature, no user, no subscription', async t => {
  for (const [name, product] of [['fastify', await fastifyProduct(tollgate)], ['express', await expressProduct(tollgate)]] as const) {
    t.same(await product('/work', user), { status: 200, body: { done: true, plan: 'enterprise' } }, `${name}: a subscriber works`)
    t.same(await product('/sso', user), { status: 200, body: { sso: true } }, `${name}: enterprise includes sso`)
    t.match(await product('/work', stranger), { status: 402, body: { error: 'no_access' } }, `${name}: no subscription, no work`)
    t.match(await product('/work'), { status: 401, body: { error: 'unauthenticated' } }, `${name}: no user`)
  }
  const pro = `u_${rid()}`
  const { data } = await tollgate.api.POST('/api/v1/create-checkout', { body: { plan_id: 'pro', user_id: pro } })
  await j.control(`checkout/${data!.session_id}/complete`, { outcome: 'paid' })
  await entitlementWhere(pro, 'pro', e => e.access)
  for (const [name, product] of [['fastify', await fastifyProduct(fresh)], ['express', await expressProduct(fresh)]] as const) {
    t.match(await product('/sso', pro), { status: 403, body: { error: 'feature_not_in_plan' } }, `${name}: pro has no sso`)
    t.equal((await product('/work', pro)).status, 200)
  }
})

t.test('the cache serves an entitlement for its TTL; invalidate(userId) drops it at once', async t => {
  const cached = createTollgate({ baseUrl: j.api, apiKey: API_KEY, cacheTtlMs: 60_000 })
  const product = await fastifyProduct(cached)
  t.equal((await product('/work', user)).status, 200)
  const canceled = await tollgate.api.POST('/api/v1/subscriptions/cancel', { body: { user_id: user, at_period_end: false } })
  t.match(canceled.data, { status: 'canceled' })
  await entitlementWhere(user, 'no access after cancelling now', e => !e.access)
  t.equal((await product('/work', user)).status, 200, 'within the TTL the cached answer stands')
  cached.invalidate(user)
  t.match(await product('/work', user), { status: 402, body: { error: 'no_access' } }, 'invalidated: Tollgate is asked again')

  const wrongKey = createTollgate({ baseUrl: j.api, apiKey: 'not-a-key-0123456789', onUnavailable: 'open' })
  await t.rejects(wrongKey.check(user), { message: /refused the entitlement read \(401\)/ }, 'a bad key fails loudly even when failing open')

  const short = createTollgate({ baseUrl: j.api, apiKey: API_KEY, cacheTtlMs: 50 })
  const first = await short.entitlement(stranger)
  t.equal(await short.entitlement(stranger), first, 'fresh: the same answer object, no call')
  await waitFor(async () => (await short.entitlement(stranger)) !== first, 'the TTL to run out', 5000)
  const [a, b] = await Promise.all([fresh.entitlement(stranger), fresh.entitlement(stranger)])
  t.equal(a, b, 'concurrent reads of one user share one call')
})

t.test('a slow Tollgate is abandoned at the timeout', async t => {
  const sockets: net.Socket[] = []
  const silent = net.createServer(s => { sockets.push(s) })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => { for (const s of sockets) s.destroy(); silent.close(resolve) }))
  const hung = createTollgate({ baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, apiKey: API_KEY, timeoutMs: 200 })
  const started = Date.now()
  await t.rejects(hung.entitlement(user), TollgateUnavailableError)
  t.ok(Date.now() - started < 2000, `gave up after ${Date.now() - started} ms`)
})

t.test('with Tollgate down: fail-closed refuses with 503, fail-open lets the request through', async t => {
  const api = j.processes.get('api')!
  const exited = new Promise(resolve => api.once('exit', resolve))
  api.kill('SIGTERM')
  await exited
  const errors: Error[] = []
  const down = (mode: FailureMode) => createTollgate({ baseUrl: j.api, apiKey: API_KEY, timeoutMs: 500, onUnavailable: mode, onError: e => errors.push(e) })
  for (const [name, make] of [['fastify', fastifyProduct], ['express', expressProduct]] as const) {
    const closed = await make(down('closed'))
    t.match(await closed('/work', user), { status: 503, body: { error: 'billing_unavailable' } }, `${name}: closed`)
    const open = await make(down('open'))
    t.match(await open('/work', user), { status: 200, body: { done: true, plan: null } }, `${name}: open`)
    t.match(await open('/work'), { status: 401 }, `${name}: open still needs a user`)
  }
  t.equal(errors.length, 4, 'each failure is reported to onError')
  t.ok(errors.every(e => e instanceof TollgateUnavailableError))
  t.match(await down('closed').consume(user, 'requests_per_month'), { allowed: false, reason: 'tollgate_unavailable' }, 'consume, closed')
  t.match(await down('open').consume(user, 'requests_per_month'), { allowed: true, reason: 'tollgate_unavailable' }, 'consume, open')
  t.equal(down('open').onUnavailable, 'open')
  t.equal(createTollgate({ baseUrl: j.api, apiKey: API_KEY }).onUnavailable, 'closed', 'closed unless chosen')
})
