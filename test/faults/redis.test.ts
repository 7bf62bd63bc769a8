import t from 'tap'
import { RedisProcess } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/env.js'
import { kill, newBatch, pool, report, Sender, settle, startFaultStack, tally } from './kit.js'

// Faults 4 and 5 on a private redis-server (AOF on, fsync always, as production should run it):
// stopped and paused at ingestion, and restarted while jobs wait.

t.setTimeout(240_000)
const redis = await RedisProcess.start()
t.teardown(() => redis.destroy())
const j = await startFaultStack(t, { redisUrl: redis.url, workers: 1 })
const webhook = `${j.api}/api/v1/webhook`

t.test('Redis stopped at ingestion: 503 within 2 s, never 2xx; Stripe\'s retries land once it is back', async t => {
  const { customers, events } = await newBatch(j, 'stopped', 4)
  await redis.stop()
  const sender = new Sender(webhook)
  const refused = await Promise.all(events.map(e => sender.deliver(e)))
  t.same([...new Set(refused)], [503], 'every delivery refused with 503')
  t.equal(sender.acked.size, 0, 'nothing acknowledged')
  t.ok(sender.slowestRefusalMs < 2000, `slowest refusal ${sender.slowestRefusalMs} ms`)
  const slowest = sender.slowestRefusalMs
  await redis.start()
  await pool(events, 8, async e => { await sender.deliver(e, { retry: true }) })
  await settle(j, sender.acked)
  report(t, await tally(j, sender, customers, { scenario: 'Redis stopped at ingestion, then back', notes: `${events.length} refusals with 503, slowest ${slowest} ms` }))
})

t.test('Redis paused (CLIENT PAUSE ALL): 503 within 2 s, never 2xx; retries land after', async t => {
  const { customers, events } = await newBatch(j, 'paused', 4)
  const admin = new (await import('ioredis')).Redis(redis.url)
  t.teardown(() => admin.disconnect())
  await admin.client('PAUSE', 5000, 'ALL')
  const sender = new Sender(webhook)
  const started = Date.now()
  const refused = await Promise.all(events.map(e => sender.deliver(e)))
  t.ok(Date.now() - started < 4500, 'all answered while Redis was still paused')
  t.same([...new Set(refused)], [503], 'every delivery refused with 503')
  t.ok(sender.slowestRefusalMs < 2000, `slowest refusal ${sender.slowestRefusalMs} ms`)
  const slowest = sender.slowestRefusalMs
  await admin.client('UNPAUSE')
  await pool(events, 8, async e => { await sender.deliver(e, { retry: true }) })
  await settle(j, sender.acked)
  report(t, await tally(j, sender, customers, { scenario: 'Redis paused (CLIENT PAUSE) at ingestion', notes: `${events.length} refusals with 503, slowest ${slowest} ms` }))
})

t.test('Redis SIGKILLed and restarted while jobs wait: all of them are processed afterwards', async t => {
  const { customers, events } = await newBatch(j, 'restart', 8)
  await kill(j.processes.get('worker-1')!, 'SIGTERM')
  const sender = new Sender(webhook)
  await pool(events, 8, async e => { await sender.deliver(e, { retry: true }) })
  t.equal(sender.acked.size, events.length, 'every event acknowledged while no worker runs')
  await redis.stop('SIGKILL')
  await redis.start()
  j.spawnProcess('worker-after-restart', 'workers/all.ts', { METRICS_PORT: '0' })
  await settle(j, sender.acked)
  await waitFor(async () => (await fetch(`${j.api}/health/ready`)).ok, 'the api to be ready again')
  report(t, await tally(j, sender, customers, { scenario: 'Redis SIGKILL + restart with jobs waiting (AOF)', notes: `${events.length} jobs waited through the restart` }))
})
