/**
 * `npm run stack`: the docker compose topology as local processes, for machines without Docker.
 * The emulator (unless STRIPE_API_BASE is set to empty: real Stripe), migrations, the catalogue
 * bootstrap, the api and two workers, against the local Redis and Postgres. Without SMTP_URL an
 * in-process SMTP catcher stands in for Mailpit. Ctrl-C, SIGINT or SIGTERM (to npm or to this
 * process) stops everything, and so does the death of whatever started it.
 *
 * `npm run stack -- reconcile --since 1d` (or db:migrate, stripe:bootstrap) runs that script with the
 * running stack's configuration instead, read from the `.env.stack` it writes.
 *
 * A development tool: it uses the devDependencies `smtp-server` and `pino-pretty`.
 */
import './stack/exit-with-parent.js'
import { existsSync, readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { startMailCatcher, type MailCatcher } from './stack/mail-catcher.js'
import { ensureDatabase } from './stack/database.js'
import { ProcessGroup } from './stack/processes.js'
import { removeStackEnv, runAgainstStack, STACK_ENV_FILE, writeStackEnv } from './stack/stack-env.js'
import { loadCatalogue } from '../src/billing/plans.js'
import { DEMO_VALUES, EXAMPLE_PLACEHOLDERS } from '../src/config/placeholders.js'
import { QUEUES } from '../src/queue/policy.js'
import { priceCacheKey } from '../src/stripe/price-cache.js'

const [command, ...commandArgs] = process.argv.slice(2)
if (command) process.exit(await runAgainstStack(command, commandArgs))

const DEMO = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tollgate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ...DEMO_VALUES,
  APP_URL: 'http://localhost:8080',
  MAIL_FROM: 'Billing <billing@example.com>',
  LOG_LEVEL: 'info'
}

// Same precedence as the app: the environment over .env, and the demo values under both. A .env
// fresh from `cp .env.example .env` still holds the example's placeholders: the demo's values stand
// in for them.
const fromFile: Record<string, string | undefined> = existsSync('.env') ? parseEnv(readFileSync('.env', 'utf8')) : {}
const replaced = Object.entries(EXAMPLE_PLACEHOLDERS).filter(([name, value]) => fromFile[name] === value).map(([name]) => name)
for (const name of replaced) delete fromFile[name]
const env: Record<string, string | undefined> = { ...DEMO, ...fromFile, ...process.env }
const num = (v: string | undefined, fallback: number) => (v && /^\d+$/.test(v) ? Number(v) : fallback)
const port = num(env.PORT, 3000)
const emulatorPort = num(env.EMULATOR_PORT, 12111)
const workers = num(env.STACK_WORKERS, 2)
const metricsBase = num(env.METRICS_PORT, 9464)
// An explicitly empty STRIPE_API_BASE means real Stripe, as in docker-compose.yml.
const useEmulator = env.STRIPE_API_BASE === undefined
if (useEmulator) env.STRIPE_API_BASE = `http://127.0.0.1:${emulatorPort}`
const apiUrl = `http://127.0.0.1:${port}`

const group = new ProcessGroup()
let mail: MailCatcher | undefined

async function main (): Promise<void> {
  // The emulator forgets everything when it stops, so rows and cache entries from an earlier demo would
  // name customers and prices it never had: the demo database (the default one) starts empty each time,
  // and so does any other with STACK_RESET_DATABASE=1.
  const fresh = env.STACK_RESET_DATABASE !== undefined
    ? env.STACK_RESET_DATABASE === '1'
    : useEmulator && !('DATABASE_URL' in fromFile) && process.env.DATABASE_URL === undefined
  await ensureDatabase(env.DATABASE_URL!, fresh)
  if (fresh) group.print('stack', `started ${env.DATABASE_URL} afresh`)
  else if (useEmulator) group.print('stack', 'warning: rows from an earlier run name emulator objects that no longer exist (STACK_RESET_DATABASE=1 empties the database)')
  if (replaced.length) group.print('stack', `.env holds .env.example's placeholders for ${replaced.join(', ')}: the demo's own values are used`)
  await startMail()
  if (useEmulator) {
    group.start('emulator', 'emulator/main.ts', {
      ...env,
      EMULATOR_PORT: String(emulatorPort),
      EMULATOR_WEBHOOK_URL: `${apiUrl}/api/v1/webhook`,
      EMULATOR_WEBHOOK_SECRET: env.STRIPE_WEBHOOK_SECRET!.split(',')[0]
    })
    await waitHttp(`${env.STRIPE_API_BASE}/_emulator/clock`, 'emulator')
  }
  await group.run('migrate', 'scripts/migrate.ts', env)
  if (useEmulator) {
    await group.run('bootstrap', 'scripts/stripe-bootstrap.ts', env)
    await forgetCachedState(fresh)
  }
  group.start('api', 'src/server.ts', env)
  await waitHttp(`${apiUrl}/health/ready`, 'api')
  // Each worker process serves its own /metrics; on one host they need a port each.
  for (let i = 1; i <= workers; i++) {
    group.start(`worker-${i}`, 'workers/all.ts', { ...env, METRICS_PORT: metricsBase === 0 ? '0' : String(metricsBase + i - 1) })
  }
  await waitWorkers()
  writeStackEnv(env)
  group.print('stack', `ready\n${banner().map(l => `  ${l}`).join('\n')}`)
}

/**
 * The catcher, unless SMTP_URL names another server: `.env.example`'s SMTP_URL is the catcher's own
 * address, so a copied .env still gets it, and a Mailpit already listening there is used instead.
 */
async function startMail (): Promise<void> {
  const smtpPort = num(env.STACK_SMTP_PORT, 1025)
  const configured = env.SMTP_URL ? new URL(env.SMTP_URL) : null
  if (configured && !(['127.0.0.1', 'localhost'].includes(configured.hostname) && Number(configured.port) === smtpPort)) return
  try {
    mail = await startMailCatcher({ smtpPort, httpPort: num(env.STACK_MAIL_HTTP_PORT, 8025), log: line => group.print('mail', line) })
    env.SMTP_URL = `smtp://127.0.0.1:${mail.smtpPort}`
  } catch (err) {
    if (!configured || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    group.print('stack', `${env.SMTP_URL} is taken by another SMTP server; mail goes there`)
  }
}

/** What a demo user needs to find everything, the admin side included. Secrets of their own are named, not printed. */
function banner (): string[] {
  const shown = (name: keyof typeof DEMO) => (env[name] === DEMO[name] ? env[name]!.split(',')[0] : `(your ${name})`)
  const workerMetrics = metricsBase === 0 ? 'off (METRICS_PORT=0)' : Array.from({ length: workers }, (_, i) => `:${metricsBase + i}`).join(' ')
  return [
    `api          ${apiUrl}   docs ${apiUrl}/docs`,
    `API key      ${shown('API_KEYS')}   (Authorization: Bearer …)`,
    `admin token  ${shown('ADMIN_TOKEN')}   (admin routes: docs/OPERATIONS.md)`,
    `queues       ${apiUrl}/admin/queues   (any user name, the admin token as password)`,
    `metrics      api ${apiUrl}/metrics, workers ${workerMetrics}`,
    useEmulator ? `emulator     ${env.STRIPE_API_BASE}   (controls: docs/EMULATOR.md)` : 'stripe       real Stripe (STRIPE_API_BASE is empty)',
    mail
      ? `mail         SMTP 127.0.0.1:${mail.smtpPort}, inbox http://127.0.0.1:${mail.httpPort}/ (JSON: /api/v1/messages)`
      : `mail         ${env.SMTP_URL}`,
    `workers      ${workers}`,
    `scripts      npm run stack -- reconcile --since 1d   (also db:migrate, stripe:bootstrap; config in ${STACK_ENV_FILE})`,
    'Ctrl-C stops everything.'
  ]
}

/**
 * A fresh emulator has new price ids: the ones cached in Redis by an earlier run name prices it never
 * had; a fresh database has no entitlements, so cached ones are stale too.
 */
async function forgetCachedState (fresh: boolean): Promise<void> {
  const redis = new Redis(env.REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const prefix = env.QUEUE_PREFIX || '{tollgate}'
    await redis.del(...loadCatalogue(env.PLANS_FILE || undefined).plans.map(p => priceCacheKey(prefix, p.lookup_key)))
    if (fresh) await redis.del(...await redis.keys(`${prefix}:entitlement*`), 'none')
  } finally {
    redis.disconnect()
  }
}

/** Until every worker process consumes the stripe-events queue: the banner promises a stack that applies events. */
async function waitWorkers (timeoutMs = 60_000): Promise<void> {
  const connection = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: 1 })
  const queue = new Queue(QUEUES.stripeEvents, { connection, prefix: env.QUEUE_PREFIX || '{tollgate}' })
  try {
    await poll(async () => await queue.getWorkersCount() >= workers, `${workers} worker(s) consuming ${QUEUES.stripeEvents}`, timeoutMs)
  } finally {
    await queue.close()
    connection.disconnect()
  }
}

async function waitHttp (url: string, what: string, timeoutMs = 30_000): Promise<void> {
  await poll(async () => (await fetch(url)).ok, `${what} at ${url}`, timeoutMs)
}

async function poll (ready: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (group.failed) throw new Error(`a process exited while waiting for ${what}`)
    if (await ready().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

let stopping = false
async function stop (code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    group.print('stack', 'stopping')
    removeStackEnv()
    await group.stopAll()
    await mail?.close()
  }
  process.exit(code)
}

process.on('exit', () => { removeStackEnv(); group.killNow() })
// SIGHUP: the terminal closed.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => { void stop(0) })
group.onUnexpectedExit = (name, code) => {
  group.print('stack', `${name} exited (${code}); stopping the stack`)
  void stop(1)
}

try {
  await main()
} catch (err) {
  group.print('stack', `failed: ${(err as Error).message}`)
  await stop(1)
}
