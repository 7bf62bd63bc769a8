import t from 'tap'
import { pino } from 'pino'
import { createMetrics } from '../../src/metrics/metrics.js'
import { startMetricsServer } from '../../src/metrics/server.js'
import { startWorkers } from '../../src/queue/workers.js'
import { buildTestApp } from '../helpers/app.js'
import { makeEvent, signBody, waitFor } from '../helpers/env.js'

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(x => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3])
  }
  return undefined
}

t.test('api and worker metrics move as events flow', async t => {
  const { app, deps } = await buildTestApp(t)
  const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body

  const before = await scrape()
  t.equal(sample(before, 'tollgate_seconds_since_last_webhook'), -1, 'no webhook yet')
  t.ok(sample(before, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics')
  t.equal(sample(before, 'tollgate_queue_jobs', { queue: 'stripe-events', state: 'waiting' }), 0)
  t.equal(sample(before, 'tollgate_usage_ledger_backlog'), 0, 'no usage waiting for the ledger')

  const events = [makeEvent('price.updated', { id: 'price_m1', object: 'price' }), makeEvent('some.unhandled_type')]
  for (const event of events) {
    const body = JSON.stringify(event)
    const res = await app.inject({ method: 'POST', url: '/api/v1/webhook', payload: body, headers: { 'content-type': 'application/json', 'stripe-signature': signBody(body) } })
    t.equal(res.statusCode, 200)
  }
  await app.inject({ method: 'GET', url: '/no/such/route/123' })

  const queued = await scrape()
  t.equal(sample(queued, 'tollgate_queue_jobs', { queue: 'stripe-events', state: 'waiting' }), 2, 'queue depth read at scrape time')
  t.equal(sample(queued, 'tollgate_http_request_duration_seconds_count', { route: '/api/v1/webhook', method: 'POST', status_code: '200' }), 2, 'requests by route pattern and status')
  t.ok(sample(queued, 'tollgate_http_request_duration_seconds_bucket', { route: '/api/v1/webhook', le: '+Inf' }), 'latency histogram')
  t.equal(sample(queued, 'tollgate_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }), 1, 'unknown URLs share one label value')
  t.equal(sample(queued, 'tollgate_webhooks_received_total', { type: 'price.updated' }), 1)
  const since = sample(queued, 'tollgate_seconds_since_last_webhook')!
  t.ok(since >= 0 && since < 5, `seconds since the last webhook (${since})`)
  t.ok(sample(queued, 'tollgate_last_webhook_timestamp_seconds')! > 1e9)

  // A worker process: its own registry, served on its own port.
  const metrics = createMetrics({ queues: Object.values(deps.queues), redis: deps.redis, prefix: deps.config.QUEUE_PREFIX })
  const workers = startWorkers(deps, ['stripe-events'], pino({ level: 'silent' }))
  for (const w of workers.workers) metrics.instrumentWorker(w)
  t.teardown(() => workers.close())
  const server = await startMetricsServer(metrics.registry, 0, '127.0.0.1')
  t.teardown(() => server.close())
  const scrapeWorker = async () => (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()

  const done = await waitFor(async () => {
    const text = await scrapeWorker()
    return sample(text, 'tollgate_jobs_completed_total', { queue: 'stripe-events', type: 'some.unhandled_type' }) === 1 &&
      sample(text, 'tollgate_jobs_completed_total', { queue: 'stripe-events', type: 'price.updated' }) === 1 ? text : null
  }, 'both events counted by the worker')
  t.equal(sample(done, 'tollgate_stripe_events_total', { type: 'price.updated', outcome: 'applied' }), 1)
  t.equal(sample(done, 'tollgate_stripe_events_total', { type: 'some.unhandled_type', outcome: 'ignored' }), 1)
  t.equal(sample(done, 'tollgate_event_lag_seconds_count', { type: 'price.updated' }), 1, 'lag observed for the applied event')
  t.equal(sample(done, 'tollgate_emails_sent_total'), 0)
  t.equal(sample(done, 'tollgate_emails_failed_total'), 0)
  t.equal(sample(done, 'tollgate_queue_jobs', { queue: 'stripe-events', state: 'waiting' }), 0, 'the worker sees the queue drained')
  t.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404)
})

t.test('METRICS_TOKEN closes /metrics to anyone without it', async t => {
  const { app } = await buildTestApp(t, { METRICS_TOKEN: 'tg_metrics_token_0123456789' })
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401)
  const ok = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer tg_metrics_token_0123456789' } })
  t.equal(ok.statusCode, 200)
  t.match(ok.headers['content-type'], /text\/plain/)
})
