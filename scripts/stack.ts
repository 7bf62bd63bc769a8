/**
 * `npm run stack`: the docker compose topology as local processes, for machines without Docker.
 * The emulator (unless STRIPE_API_BASE is set to empty: real Stripe), migrations, the catalogue
 * bootstrap, the api and two workers, against the local Redis and Postgres. Without SMTP_URL an
 * in-process SMTP catcher stands in for Mailpit. Ctrl-C stops everything.
 *
 * A development tool: it uses the devDependencies `smtp-server` and `pino-pretty`.
 */
import { existsSync, readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { startMailCatcher, type MailCatcher } from './stack/mail-catcher.js'
import { ensureDatabase } from './stack/database.js'
import { ProcessGroup } from './stack/processes.js'
import { Redis } from 'ioredis'
import { loadCatalogue } from '../src/billing/plans.js'
import { priceCacheKey } from '../src/stripe/price-cache.js'

const DEMO = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tollgate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  STRIPE_SECRET_KEY: 'sk_test_offline_demo_0123456789',
  STRIPE_WEBHOOK_SECRET: 'whsec_offline_demo_0123456789',
  API_KEYS: 'demo-api-key-0123456789',
  ADMIN_TOKEN: 'demo-admin-token-0123456789',
  APP_URL: 'http://localhost:8080',
  MAIL_FROM: 'Billing <billing@example.com>',
  LOG_LEVEL: 'info'
}

// Same precedence as the app: the environment over .env, and the demo values under both.
const fromFile = existsSync('.env') ? parseEnv(readFileSync('.env', 'utf8')) : {}
const env: Record<string, string | undefined> = { ...DEMO, ...fromFile, ...process.env }
const num = (v: string | undefined, fallback: number) => (v && /^\d+$/.test(v) ? Number(v) : fallback)
const port = num(env.PORT, 3000)
const emulatorPort = num(env.EMULATOR_PORT, 12111)
const workers = num(env.STACK_WORKERS, 2)
// An explicitly empty STRIPE_API_BASE means real Stripe, as in docker-compose.yml.
const useEmulator = env.STRIPE_API_BASE === undefined
if (useEmulator) env.STRIPE_API_BASE = `http://127.0.0.1:${emulatorPort}`
const apiUrl = `http://127.0.0.1:${port}`

const group = new ProcessGroup()
let freshDemo = false
let mail: MailCatcher | undefined

async function main (): Promise<void> {
  // The emulator forgets everything when it stops, so rows and cache entries from an earlier demo would
  // name customers and prices it never had: the demo database (the default one) starts empty each time.
  freshDemo = useEmulator && !('DATABASE_URL' in fromFile) && process.env.DATABASE_URL === undefined
  await ensureDatabase(env.DATABASE_URL!, freshDemo)
  if (freshDemo) group.print('stack', `offline demo: started ${env.DATABASE_URL} afresh`)
  else if (useEmulator) group.print('stack', 'warning: rows from an earlier run name emulator objects that no longer exist')
  if (!env.SMTP_URL) {
    mail = await startMailCatcher({ smtpPort: num(env.STACK_SMTP_PORT, 1025), httpPort: num(env.STACK_MAIL_HTTP_PORT, 8025), log: line => group.print('mail', line) })
    env.SMTP_URL = `smtp://127.0.0.1:${mail.smtpPort}`
  }
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
    await forgetCachedPrices()
  }
  group.start('api', 'src/server.ts', env)
  await waitHttp(`${apiUrl}/health/ready`, 'api')
  // Each worker process serves its own /metrics; on one host they need a port each.
  const metricsBase = num(env.METRICS_PORT, 9464)
  for (let i = 1; i <= workers; i++) {
    group.start(`worker-${i}`, 'workers/all.ts', { ...env, METRICS_PORT: metricsBase === 0 ? '0' : String(metricsBase + i - 1) })
  }

  const lines = [
    `api        ${apiUrl}   (docs: ${apiUrl}/docs, key: ${env.API_KEYS!.split(',')[0]})`,
    useEmulator ? `emulator   ${env.STRIPE_API_BASE}` : 'stripe     real Stripe (STRIPE_API_BASE is empty)',
    mail ? `mail       ${env.SMTP_URL}, messages at http://127.0.0.1:${mail.httpPort}/api/v1/messages` : `mail       ${env.SMTP_URL}`,
    `workers    ${workers}`,
    'Ctrl-C stops everything.'
  ]
  group.print('stack', `ready\n${lines.map(l => `  ${l}`).join('\n')}`)
}

/** A fresh emulator has new price ids: the ones cached in Redis by an earlier run name prices it never had. */
async function forgetCachedPrices (): Promise<void> {
  const redis = new Redis(env.REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const prefix = env.QUEUE_PREFIX || '{tollgate}'
    await redis.del(...loadCatalogue(env.PLANS_FILE || undefined).plans.map(p => priceCacheKey(prefix, p.lookup_key)))
    if (freshDemo) await redis.del(...await redis.keys(`${prefix}:entitlement*`), 'none')
  } finally {
    redis.disconnect()
  }
}

async function waitHttp (url: string, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (group.failed) throw new Error(`${what} exited during start-up`)
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`${what} not ready at ${url} within ${timeoutMs / 1000} s`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

let stopping = false
async function stop (code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    group.print('stack', 'stopping')
    await group.stopAll()
    await mail?.close()
  }
  process.exit(code)
}

process.on('exit', () => group.killNow())
process.on('SIGINT', () => { void stop(0) })
process.on('SIGTERM', () => { void stop(0) })
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
