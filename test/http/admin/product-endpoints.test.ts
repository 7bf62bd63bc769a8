import { eq } from 'drizzle-orm'
import { pino } from 'pino'
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { productEvent } from '../../../src/billing/product-events.js'
import { NO_EVENT_ENTITLEMENT } from '../../../src/billing/product-events.js'
import { saveProductEvents } from '../../../src/db/product-events-repo.js'
import { productDeliveries } from '../../../src/db/schema.js'
import { queueHeadsOf } from '../../../src/queue/product-event-heads.js'
import { startWorkers } from '../../../src/queue/workers.js'
import { buildTestApp } from '../../helpers/app.js'
import { ADMIN_TOKEN, API_KEY, exitAfterTests, waitFor } from '../../helpers/env.js'
import { startReceiver } from '../../helpers/product-receiver.js'

// In-process BullMQ workers: see exitAfterTests.
exitAfterTests(t)

t.test('admins add, rotate, disable, enable endpoints and replay events without a restart', async t => {
  const { app, deps, config } = await buildTestApp(t, { PRODUCT_WEBHOOK_RETRY_BASE_MS: '40' })
  const started = startWorkers(deps, ['product-events'], pino({ level: 'silent' }), { concurrency: 2 })
  t.teardown(() => started.close())
  const admin = (method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, ...(payload && { payload }) })
  let at = 1_790_000_000
  const emit = async (userId: string) => {
    const [ref] = await deps.db.transaction(tx => saveProductEvents(tx, [productEvent('entitlement.updated', userId, NO_EVENT_ENTITLEMENT, at++)]))
    await queueHeadsOf({ db: deps.db, queue: deps.queues.productEvents, config }, [userId])
    return ref!
  }

  t.equal((await app.inject({ method: 'GET', url: '/admin/product-endpoints', headers: { authorization: `Bearer ${API_KEY}` } })).statusCode, 401, 'a product key is not an admin token')

  // The receiver starts with a secret it cannot know yet: it learns the one Tollgate makes.
  const receiver = await startReceiver(t, 'whsec_' + Buffer.alloc(24).toString('base64'))
  const added = await admin('POST', '/admin/product-endpoints', { url: receiver.url })
  t.equal(added.statusCode, 201)
  const { endpoint, secret: first } = added.json()
  t.match(first, /^whsec_/)
  receiver.verifyWith(first)
  t.equal((await admin('POST', '/admin/product-endpoints', { url: receiver.url })).statusCode, 409, 'one endpoint per URL')
  const listed = await admin('GET', '/admin/product-endpoints')
  t.same(listed.json().data, [{ id: endpoint.id, url: receiver.url, source: 'admin', enabled: true, failure_run: 0, disabled_at: null, secrets: 1 }])
  t.notMatch(listed.body, /whsec_/, 'secrets are never listed')

  const e1 = await emit('u_1')
  await waitFor(() => receiver.delivered().length === 1, 'the first event delivered')

  const rotated = (await admin('POST', `/admin/product-endpoints/${endpoint.id}/rotate`, {})).json()
  t.equal(rotated.endpoint.secrets, 2, 'both secrets sign during the rotation')
  await emit('u_1')
  await waitFor(() => receiver.delivered().length === 2, 'delivered, verified with the old secret')
  receiver.verifyWith(rotated.secret)
  await emit('u_1')
  await waitFor(() => receiver.delivered().length === 3, 'delivered, verified with the new secret')
  const last = (await admin('POST', `/admin/product-endpoints/${endpoint.id}/rotate`, { keep_previous: false })).json()
  t.equal(last.endpoint.secrets, 1, 'the rotation ended: one secret')
  await emit('u_1')
  await waitFor(() => receiver.rejected.length >= 1, 'the dropped secret no longer verifies')
  receiver.verifyWith(last.secret)
  await waitFor(() => receiver.delivered().length === 4, 'the retry, signed with the new secret, is accepted')

  t.match((await admin('POST', `/admin/product-endpoints/${endpoint.id}/disable`)).json(), { enabled: false })
  await emit('u_2')
  await emit('u_2')
  const counts = await deps.queues.productEvents.getJobCounts('waiting', 'delayed', 'active', 'prioritized')
  t.same(Object.values(counts).reduce((a, b) => a + b, 0), 0, 'nothing queued for a disabled endpoint')
  t.same((await deps.db.select().from(productDeliveries).where(eq(productDeliveries.userId, 'u_2'))).map(d => d.status), ['pending', 'pending'], 'its events wait')
  t.match((await admin('POST', `/admin/product-endpoints/${endpoint.id}/enable`)).json(), { enabled: true, failure_run: 0 })
  await waitFor(() => receiver.delivered().filter(r => r.userId === 'u_2').length === 2, 'the waiting events go once enabled')

  const replayed = await admin('POST', `/admin/product-events/${e1.id}/replay`)
  t.equal(replayed.statusCode, 202, replayed.body)
  t.match(replayed.json(), { events: 1, users: 1 })
  await waitFor(() => receiver.delivered().filter(r => r.webhookId === `msg_${e1.id}`).length === 2, 'the replay carries the same webhook-id')

  const before = receiver.delivered().length
  const range = await admin('POST', '/admin/product-events/replay', { from: new Date(Date.now() - 60_000).toISOString(), to: new Date().toISOString() })
  t.match(range.json(), { events: 6, users: 2 })
  await waitFor(() => receiver.delivered().length === before + 6, 'a time range sent again')
  const again = receiver.delivered().slice(before)
  for (const user of ['u_1', 'u_2']) {
    const stamps = again.filter(r => r.userId === user).map(r => r.body.timestamp)
    t.same(stamps, [...stamps].sort(), `${user}'s replayed events in order`)
  }
  t.equal((await admin('POST', `/admin/product-events/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}/replay`)).statusCode, 404)

  const log = (await admin('GET', `/admin/product-deliveries?event_id=${e1.id}`)).json().data
  t.equal(log.length, 3, 'the attempt log of one event: its delivery and two replays')
  t.match(log[0], { event_id: e1.id, webhook_id: `msg_${e1.id}`, type: 'entitlement.updated', user_id: 'u_1', seq: 1, status: 204, ok: true })
  t.ok((await admin('GET', '/admin/product-deliveries?limit=100')).json().data.some((a: { status: number }) => a.status === 401), 'the refused attempt is logged with its status')
})

t.test('an endpoint from PRODUCT_WEBHOOK_URL rotates in config, not through the admin API', async t => {
  const secret = 'whsec_' + Buffer.alloc(24, 1).toString('base64')
  const { app, deps, config } = await buildTestApp(t, { PRODUCT_WEBHOOK_URL: 'http://127.0.0.1:9/a', PRODUCT_WEBHOOK_SECRET: secret })
  const { syncConfigEndpoints } = await import('../../../src/db/product-endpoints-repo.js')
  await syncConfigEndpoints(deps.db, config.PRODUCT_WEBHOOK_URL, config.PRODUCT_WEBHOOK_SECRET)
  const [row] = (await app.inject({ method: 'GET', url: '/admin/product-endpoints', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json().data
  t.match(row, { url: 'http://127.0.0.1:9/a', source: 'config', enabled: true, secrets: 1 })
  const res = await app.inject({ method: 'POST', url: `/admin/product-endpoints/${row.id}/rotate`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: {} })
  t.equal(res.statusCode, 409)
  t.equal(res.json().error, 'configured_endpoint')
  await syncConfigEndpoints(deps.db, ['http://127.0.0.1:9/b'], [secret])
  const rows = (await app.inject({ method: 'GET', url: '/admin/product-endpoints', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json().data
  t.same(rows.map((r: { url: string, enabled: boolean }) => [r.url, r.enabled]), [['http://127.0.0.1:9/a', false], ['http://127.0.0.1:9/b', true]], 'an endpoint dropped from config is disabled, a new one added')
  t.equal(rows[0].source, 'retired')
  t.equal((await app.inject({ method: 'POST', url: `/admin/product-endpoints/${row.id}/enable`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).statusCode, 409, 'a retired endpoint comes back through config only')
  t.ok(new Webhook(secret), 'the configured secret is a valid Standard Webhooks secret')
})

t.test('the OpenAPI document has a webhooks section with every product event, and the admin routes', async t => {
  const { app } = await buildTestApp(t)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.same(Object.keys(doc.webhooks ?? {}).sort(), ['checkout.completed', 'entitlement.updated', 'plan_change.scheduled', 'subscription.past_due', 'trial.will_end', 'usage.threshold_reached'])
  const updated = doc.webhooks['entitlement.updated'].post
  t.match(updated.requestBody.content['application/json'].schema.properties.data.properties, { user_id: { type: 'string' }, entitlement: { type: 'object' }, previous: { type: 'object' } })
  t.same(updated.parameters.map((p: { name: string }) => p.name), ['webhook-id', 'webhook-timestamp', 'webhook-signature'])
  for (const path of ['/admin/product-endpoints', '/admin/product-endpoints/{id}/rotate', '/admin/product-deliveries', '/admin/product-events/replay']) t.ok(doc.paths[path], `${path} documented`)
})
