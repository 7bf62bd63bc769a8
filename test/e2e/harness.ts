import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Queue } from 'bullmq'
import postgres from 'postgres'
import Stripe from 'stripe'
import { createEmulator, type Emulator } from '../../emulator/index.js'
import { startMailCatcher, type MailCatcher } from '../../scripts/stack/mail-catcher.js'
import { loadCatalogue } from '../../src/billing/plans.js'
import { QUEUES } from '../../src/queue/policy.js'
import { bootstrapCatalogue } from '../../src/stripe/bootstrap-catalogue.js'
import { createTestDatabase, createTestPrefix, testRedis, waitFor, API_KEY, ADMIN_TOKEN, WEBHOOK_SECRET, REDIS_URL } from '../helpers/env.js'
import { freePort } from '../helpers/redis-server.js'

type T = { teardown: (fn: () => unknown) => void }

/**
 * Holds webhook deliveries on their way from the emulator to the api while `hold` is on, then
 * forwards them byte for byte (the signature stays valid): the success page can be asked before the
 * webhook arrives, for certain rather than by chance.
 */
class WebhookGate {
  hold = false
  private held: Array<() => void> = []
  private inFlight = 0
  readonly server: http.Server
  constructor (private readonly target: string) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const forward = () => { void this.forward(req, Buffer.concat(chunks), res) }
        if (this.hold) this.held.push(forward)
        else forward()
      })
    })
  }

  get busy (): boolean { return this.held.length > 0 || this.inFlight > 0 }
  get heldCount (): number { return this.held.length }

  release (): void {
    this.hold = false
    for (const f of this.held.splice(0)) f()
  }

  private async forward (req: http.IncomingMessage, body: Buffer<ArrayBuffer>, res: http.ServerResponse) {
    this.inFlight++
    try {
      const answer = await fetch(this.target, {
        method: 'POST',
        body,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json', 'stripe-signature': String(req.headers['stripe-signature'] ?? '') }
      })
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text())
    } catch {
      res.writeHead(502).end()
    } finally {
      this.inFlight--
    }
  }
}

export interface Journey {
  api: string
  appUrl: string
  emulator: Emulator
  stripe: Stripe
  mail: MailCatcher
  gate: WebhookGate
  sql: postgres.Sql
  /** Product API call with the bearer key; answers status and JSON body. */
  call: (method: string, path: string, body?: unknown) => Promise<{ status: number, body: any }>
  control: (path: string, body?: unknown) => Promise<any>
  /** Until every delivery landed, every event was applied by a worker and no email is waiting. */
  settled: () => Promise<void>
  logs: string[]
  /** Starts one more Tollgate process (`src/server.ts`, `workers/all.ts`) with the journey's env plus `extra`; killed at teardown. */
  spawnProcess: (name: string, file: string, extra?: NodeJS.ProcessEnv) => ChildProcess
  /** The processes started so far, by name (a later one of the same name replaces it here). */
  processes: Map<string, ChildProcess>
  /** Until the api answers /health/ready (after a restart, say). */
  apiReady: () => Promise<void>
  env: NodeJS.ProcessEnv
}

export interface JourneyOptions {
  /** Another Redis than the shared one, e.g. a private RedisProcess that a fault test stops. */
  redisUrl?: string
  /** Another Postgres server than the shared one (its admin URL), e.g. a private PostgresProcess that a fault test restarts. */
  pgAdminUrl?: string
  /** Worker processes started at once (2). */
  workers?: number
  /** Extra environment for every process. */
  env?: NodeJS.ProcessEnv
  /** false: the emulator records events but delivers none; the test sends them itself. */
  deliverWebhooks?: boolean
  /**
   * Processes on other hosts (network namespaces): the emulator and the mail sink listen on `bind`,
   * the api on `apiAddress`, and each process runs in the namespace `namespaceOf` names (none: here).
   */
  network?: { bind: string, apiAddress: string, namespaceOf: (processName: string) => string | undefined }
}

/**
 * The whole Tollgate on free ports, as real processes: the api and two workers spawned with
 * `node --import tsx`, the emulator and an SMTP sink in this process, a fresh database and Redis prefix.
 */
export async function startJourney (t: T, opts: JourneyOptions = {}): Promise<Journey> {
  const [databaseUrl, prefix] = [await createTestDatabase(t, opts.pgAdminUrl), createTestPrefix(t)]
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} })
  t.teardown(() => sql.end())

  const bind = opts.network?.bind ?? '127.0.0.1'
  const mail = await startMailCatcher({ host: bind })
  t.teardown(() => mail.close())

  // The success and cancel pages of "the product": the browser lands here after paying.
  const app = http.createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Thanks</h1>') })
  await new Promise<void>(resolve => app.listen(0, bind, resolve))
  t.teardown(() => new Promise(resolve => { app.closeAllConnections(); app.close(resolve) }))
  const appUrl = `http://${bind}:${(app.address() as AddressInfo).port}`

  const port = await freePort()
  const apiAddress = opts.network?.apiAddress ?? '127.0.0.1'
  const api = `http://${apiAddress}:${port}`
  const gate = new WebhookGate(`${api}/api/v1/webhook`)
  await new Promise<void>(resolve => gate.server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => { gate.release(); gate.server.closeAllConnections(); gate.server.close(resolve) }))

  const emulator = createEmulator({
    host: bind,
    webhookUrl: opts.deliverWebhooks === false ? undefined : `http://127.0.0.1:${(gate.server.address() as AddressInfo).port}/`,
    webhookSecrets: [WEBHOOK_SECRET],
    retryBaseMs: 50,
    maxAttempts: 12
  })
  const stripeBase = await emulator.listen(0)
  t.teardown(() => emulator.close())
  const stripe = new Stripe('sk_test_e2e_0123456789', { host: bind, port: emulator.port, protocol: 'http' })
  await bootstrapCatalogue(stripe, loadCatalogue())

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: apiAddress,
    DATABASE_URL: databaseUrl,
    REDIS_URL: opts.redisUrl ?? REDIS_URL,
    QUEUE_PREFIX: prefix,
    STRIPE_SECRET_KEY: 'sk_test_e2e_0123456789',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: stripeBase,
    API_KEYS: API_KEY,
    ADMIN_TOKEN,
    APP_URL: appUrl,
    SMTP_URL: `smtp://${bind}:${mail.smtpPort}`,
    MAIL_FROM: 'Billing <billing@example.test>',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    RATE_LIMIT_USER_PER_MINUTE: '10000',
    STRIPE_BUDGET_READS_PER_SECOND: '10000',
    STRIPE_BUDGET_WRITES_PER_SECOND: '10000',
    ...opts.env
  }
  const logs: string[] = []
  const children: ChildProcess[] = []
  const processes = new Map<string, ChildProcess>()
  // Killed at teardown even when a step failed; the test waits for each exit so no port stays taken.
  t.teardown(async () => {
    await Promise.all(children.map(async child => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }))
  })
  // If this test process dies before teardown runs (an uncaught error), the children must not outlive it.
  const killAll = () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL') }
  process.once('exit', killAll)
  t.teardown(() => { process.off('exit', killAll) })
  const start = (name: string, file: string, extra: NodeJS.ProcessEnv = {}) => {
    // cwd outside the repo so a developer's .env cannot leak into the test.
    const node = [process.execPath, '--import', import.meta.resolve('tsx'), new URL(`../../${file}`, import.meta.url).pathname]
    // `ip netns exec` execs node in the namespace: the child's pid is node's.
    const ns = opts.network?.namespaceOf(name)
    const [command, ...args] = ns ? ['ip', 'netns', 'exec', ns, ...node] : node
    const child = spawn(command!, args, { env: { ...env, ...extra }, cwd: '/tmp', stdio: ['ignore', 'pipe', 'pipe'] })
    for (const s of [child.stdout!, child.stderr!]) s.on('data', (c: Buffer) => logs.push(`[${name}] ${c.toString()}`))
    children.push(child)
    processes.set(name, child)
    return child
  }
  start('api', 'src/server.ts')
  // Workers on one host: their own metrics listeners would collide, and the test does not read them.
  for (let i = 1; i <= (opts.workers ?? 2); i++) start(`worker-${i}`, 'workers/all.ts', { METRICS_PORT: '0' })
  const apiReady = async () => {
    await waitFor(async () => {
      if (processes.get('api')?.exitCode !== null) throw new Error('the api exited')
      return (await fetch(`${api}/health/ready`)).ok
    }, 'the api to be ready', 60_000, 100)
  }
  // The workers start as the api does; a step's settle deadline should not pay for their start-up
  // (seconds on a loaded machine, more under coverage), so the journey begins once each consumes.
  const workersReady = async () => {
    const redis = testRedis(env.REDIS_URL)
    const queues = [QUEUES.stripeEvents, QUEUES.email].map(name => new Queue(name, { connection: redis, prefix }))
    try {
      await waitFor(async () => {
        const dead = [...processes].find(([name, p]) => name.startsWith('worker-') && p.exitCode !== null)
        if (dead) throw new Error(`${dead[0]} exited`)
        const counts = await Promise.all(queues.map(q => q.getWorkersCount()))
        return counts.every(n => n >= (opts.workers ?? 2))
      }, 'the workers to consume', 60_000, 100)
    } finally {
      await Promise.all(queues.map(q => q.close()))
      redis.disconnect()
    }
  }
  try {
    await Promise.all([apiReady(), workersReady()])
  } catch (err) {
    killAll()
    throw new Error(`${(err as Error).message}\n${logs.join('')}`)
  }

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    return { status: res.status, body: await res.json() }
  }
  const control = async (path: string, body?: unknown) => {
    const res = await fetch(`${stripeBase}/_emulator/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })
    const json = await res.json()
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`)
    return json
  }
  const settled = async () => {
    // Generous: the first call may come while the workers are still starting on a loaded host.
    await waitFor(async () => {
      if (emulator.ctx.deliverer.pending() > 0 || gate.busy) return false
      const delivered = [...new Set(emulator.deliveries().filter(d => d.outcome === 'delivered').map(d => d.event_id))]
      if (delivered.length === 0) return true
      const [row] = await sql`select count(*)::int as n from stripe_events where event_id = any(${delivered}) and processed_at is not null`
      if (row.n < delivered.length) return false
      const [mailRow] = await sql`select count(*)::int as n from email_outbox where status = 'pending'`
      return mailRow.n === 0
    }, 'deliveries, events and email to settle', 60_000)
  }
  return { api, appUrl, emulator, stripe, mail, gate, sql, call, control, settled, logs, spawnProcess: start, processes, apiReady, env }
}
