import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import { QUEUES, jobPolicy } from '../../../src/queue/policy.js'
import { toEventJob } from '../../../src/stripe/webhook.js'
import { API_KEY, ADMIN_TOKEN, PG_ADMIN_URL, WEBHOOK_SECRET } from '../../helpers/env.js'
import type { StripeEvent } from './corpus.js'
import { Cleanup, cpuSeconds, freePort, privateDatabase, privateRedis, productionFlags, spawnNode, waitHttp, type Proc, type Runtime } from './env.js'

export const PREFIX = '{tollgate}'

/** Private Postgres database, private redis-server, the emulator process, and spawners for the rest. */
export async function startStack (c: Cleanup) {
  const db = await privateDatabase(c)
  const redis = await privateRedis(c)
  const sql = postgres(db.url, { max: 2, onnotice: () => {} })
  c.teardown(() => sql.end({ timeout: 2 }))
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
  c.teardown(() => admin.end({ timeout: 2 }))
  const client = new Redis(redis.url, { maxRetriesPerRequest: null })
  c.teardown(() => client.disconnect())
  const queue = new Queue(QUEUES.stripeEvents, { connection: client, prefix: PREFIX, defaultJobOptions: jobPolicy['stripe-events'] })
  c.teardown(() => queue.close())

  const profile = (name: string) => process.env.BENCH_PROFILE?.split(',').includes(name) ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE_DIR ?? '/tmp/tollgate-bench-prof'] : []
  const emulatorPort = await freePort()
  const emulator = spawnNode(c, 'emulator', 'emulator/main.ts', { EMULATOR_PORT: String(emulatorPort) }, profile('emulator'), 'dist')
  const emulatorUrl = `http://127.0.0.1:${emulatorPort}`
  await waitHttp(emulator, `${emulatorUrl}/_emulator/clock`)

  // warn: the bare baselines log nothing, and at info the api writes three lines per webhook (docs/BENCHMARKS.md).
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn'
  const appEnv: NodeJS.ProcessEnv = {
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: PREFIX,
    STRIPE_SECRET_KEY: 'sk_test_bench_0123456789',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: emulatorUrl,
    API_KEYS: API_KEY,
    ADMIN_TOKEN,
    APP_URL: 'http://app.example.test',
    // Nothing sends mail in the bench (no email worker runs); outbox rows and email jobs just wait.
    SMTP_URL: 'smtp://127.0.0.1:1',
    MAIL_FROM: 'billing@example.test',
    LOG_LEVEL: logLevel,
    METRICS_PORT: '0',
    RECONCILE_EVERY_SECONDS: '0',
    RETENTION_EVERY_SECONDS: '0',
    // One API key stands in for a whole product's traffic here; the default 6,000/min would turn the read benchmark into a 429 benchmark.
    RATE_LIMIT_READ_PER_MINUTE: '10000000'
  }
  /** The api as production runs it (dist/, with `npm start`'s node flags), once /health/ready answers. */
  async function startApi (runtime: Runtime = 'dist'): Promise<Proc & { url: string }> {
    const port = await freePort()
    const api = spawnNode(c, 'api', 'src/server.ts', { ...appEnv, PORT: String(port) }, [...productionFlags('start'), ...profile('api')], runtime)
    const url = `http://127.0.0.1:${port}`
    await waitHttp(api, `${url}/health/ready`)
    return { ...api, url }
  }
  async function startBaselines (): Promise<Proc & { url: string }> {
    const port = await freePort()
    const p = spawnNode(c, 'baselines', 'test/bench/servers/baselines.ts', { ...appEnv, PORT: String(port) })
    const url = `http://127.0.0.1:${port}`
    await waitHttp(p, `${url}/ready`)
    return { ...p, url }
  }
  /**
   * Tollgate's stripe-events worker process (workers/stripe-events.ts; `all` for workers/all.ts, every
   * queue, as docker compose runs it), as production runs it, or the minimal-upsert baseline.
   */
  function startWorker (kind: 'tollgate' | 'all' | 'minimal', i: number, runtime: Runtime = 'dist', env: NodeJS.ProcessEnv = {}): Proc {
    if (kind === 'minimal') return spawnNode(c, `minimal-worker-${i}`, 'test/bench/servers/minimal-worker.ts', appEnv, profile(`worker${i}`))
    const file = kind === 'all' ? 'workers/all.ts' : 'workers/stripe-events.ts'
    return spawnNode(c, `${kind}-worker-${i}`, file, { ...appEnv, ...env }, [...productionFlags('worker'), ...profile(`worker${i}`)], runtime)
  }

  async function counts (): Promise<Record<string, number> & { done: number, total: number }> {
    const n = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused', 'waiting-children')
    const done = (n.completed ?? 0) + (n.failed ?? 0)
    const total = Object.values(n).reduce((a, b) => a + b, 0)
    return { ...n, done, total }
  }

  /** Empties Redis and the event-derived tables so every round starts from the same state. */
  async function reset (opts: { events?: boolean } = { events: true }) {
    await client.flushall()
    if (opts.events) await sql`truncate stripe_events, email_outbox, product_events, product_deliveries, product_delivery_attempts`
  }

  async function enqueue (events: StripeEvent[]) {
    const now = Date.now()
    for (let i = 0; i < events.length; i += 1000) {
      await queue.addBulk(events.slice(i, i + 1000).map(e => ({ name: e.type, data: toEventJob(e as never, now), opts: { jobId: e.id } })))
    }
  }

  /** CPU seconds so far of redis-server and of every Postgres backend serving the bench database. */
  async function serverCpu (): Promise<{ redis: number, postgres: number, backends: number[] }> {
    const rows = await admin`select pid from pg_stat_activity where datname = ${db.name} and pid <> pg_backend_pid()`
    const backends = rows.map(r => r.pid as number)
    return { redis: cpuSeconds(redis.proc!.pid!), postgres: backends.reduce((a, pid) => a + cpuSeconds(pid), 0), backends }
  }

  /** Resolves once a worker process consuming `name` has scheduled its sweep: it is up and idle. */
  async function queueReady (name: string, scheduler: string, timeoutMs = 60_000) {
    const q = new Queue(name, { connection: client, prefix: PREFIX })
    try {
      const deadline = Date.now() + timeoutMs
      while (!(await q.getJobSchedulers()).some(s => s.key === scheduler)) {
        if (Date.now() > deadline) throw new Error(`no worker consumes ${name} after ${timeoutMs} ms`)
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    } finally { await q.close() }
  }

  return { db, redis, sql, client, queue, queueReady, emulatorUrl, emulator, appEnv, startApi, startBaselines, startWorker, counts, reset, enqueue, serverCpu }
}

export type Stack = Awaited<ReturnType<typeof startStack>>
