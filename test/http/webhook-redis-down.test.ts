import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { makeEvent, signBody } from '../helpers/env.js'
import { RedisProcess } from '../helpers/redis-server.js'
import { waitReady } from '../../src/queue/connections.js'

t.test('Redis unreachable at ingestion: 503 fast, never 2xx; accepted once Redis is back', async t => {
  const redis = await RedisProcess.start()
  t.teardown(() => redis.destroy())
  const { app, deps } = await buildTestApp(t, { REDIS_URL: redis.url })
  await waitReady(deps.redis)
  const event = makeEvent()
  const body = JSON.stringify(event)
  const send = () => app.inject({ method: 'POST', url: '/api/v1/webhook', payload: body, headers: { 'content-type': 'application/json', 'stripe-signature': signBody(body) } })

  await redis.stop()
  const started = Date.now()
  const down = await send()
  t.equal(down.statusCode, 503, 'stopped Redis → 503')
  t.equal(down.json().error, 'queue_unavailable')
  t.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`)

  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.same(ready.json().failing, ['redis'], 'readiness names the failing part')

  await redis.start()
  await waitReady(deps.redis, 5000)
  const up = await send()
  t.equal(up.statusCode, 200, 'Stripe retry after recovery is accepted')
  t.ok(await deps.queues.stripeEvents.getJob(event.id), 'and queued')
})

t.test('Redis paused (CLIENT PAUSE): 503 within 2 s', async t => {
  const redis = await RedisProcess.start()
  t.teardown(() => redis.destroy())
  const { app, deps } = await buildTestApp(t, { REDIS_URL: redis.url })
  await waitReady(deps.redis)
  await deps.queues.stripeEvents.waitUntilReady()
  const { Redis } = await import('ioredis')
  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())
  await admin.client('PAUSE', 3000, 'ALL')
  const event = makeEvent()
  const body = JSON.stringify(event)
  const started = Date.now()
  const res = await app.inject({ method: 'POST', url: '/api/v1/webhook', payload: body, headers: { 'content-type': 'application/json', 'stripe-signature': signBody(body) } })
  const took = Date.now() - started
  t.equal(res.statusCode, 503)
  t.ok(took < 2000, `answered in ${took} ms`)
})
