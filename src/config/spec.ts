import { parseRedisUrl } from '../queue/redis-url.js'

/**
 * Every variable Tollgate reads, with its parser, default and one-line description. `.env.example`
 * and the README's configuration table are checked against this list by a test.
 */
export interface VarSpec<T> {
  doc: string
  default?: string
  optional?: boolean
  secret?: boolean
  parse: (raw: string) => T
}

export type ConfigSpec = Record<string, VarSpec<unknown>>

const text = (raw: string) => raw

function int (min: number, max: number) {
  return (raw: string) => {
    if (!/^\d+$/.test(raw)) throw new Error(`must be a whole number, got "${raw}"`)
    const n = Number(raw)
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`)
    return n
  }
}

function url (protocols: string[]) {
  return (raw: string) => {
    let u: URL
    try { u = new URL(raw) } catch { throw new Error('must be a URL') }
    if (!protocols.includes(u.protocol)) throw new Error(`must use ${protocols.join(' or ')}`)
    return raw
  }
}

function list<T extends string = string> (item: (s: string) => T) {
  return (raw: string): T[] => {
    const parts = raw.split(',').map(s => s.trim()).filter(Boolean)
    if (parts.length === 0) throw new Error('must list at least one value')
    return parts.map(item)
  }
}

function prefixed (prefixes: string[], minLength = 8) {
  return (raw: string) => {
    if (!prefixes.some(p => raw.startsWith(p))) throw new Error(`must start with ${prefixes.join(' or ')}`)
    if (raw.length < minLength) throw new Error(`is too short (at least ${minLength} characters)`)
    return raw
  }
}

function oneOf<T extends string> (values: readonly T[]) {
  return (raw: string) => {
    if (!values.includes(raw as T)) throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`)
    return raw as T
  }
}

/** Days kept, or 0 for ever; a shorter keep than `min` would drop what Tollgate still reads. */
function days (min: number) {
  return (raw: string) => {
    const n = int(0, 36_500)(raw)
    if (n !== 0 && n < min) throw new Error(`must be 0 (for ever) or at least ${min}, got ${n}`)
    return n
  }
}

const apiKey = (raw: string) => {
  if (raw.length < 16) throw new Error('each key must be at least 16 characters')
  return raw
}

/** A Standard Webhooks secret: `whsec_` and base64 of at least 24 random bytes. */
const standardSecret = (raw: string) => {
  if (!raw.startsWith('whsec_')) throw new Error('must start with whsec_')
  const key = raw.slice('whsec_'.length)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length < 24) throw new Error('must be whsec_ followed by base64 of at least 24 bytes')
  return raw
}

const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const queues = ['stripe-events', 'email', 'prices', 'product-events'] as const

export const configSpec = {
  PORT: { doc: 'HTTP port of the api', default: '3000', parse: int(0, 65535) },
  HOST: { doc: 'Interface the api listens on', default: '0.0.0.0', parse: text },
  DATABASE_URL: { doc: 'Postgres connection URL', parse: url(['postgres:', 'postgresql:']) },
  REDIS_URL: { doc: 'Redis URL (queues and caches): redis:// or rediss:// for one server, redis+cluster://host:port[,host:port…] (or rediss+cluster://) for a Redis Cluster by its seed nodes', default: 'redis://127.0.0.1:6379', parse: (raw: string) => { parseRedisUrl(raw); return raw } },
  QUEUE_PREFIX: { doc: 'Key prefix of every queue and cache key; use a {hash tag} on Redis Cluster', default: '{tollgate}', parse: text },
  STRIPE_SECRET_KEY: { doc: 'Stripe secret key (sk_test_… or sk_live_…, or a restricted rk_ key)', secret: true, parse: prefixed(['sk_', 'rk_']) },
  STRIPE_WEBHOOK_SECRET: { doc: 'Webhook signing secrets, comma-separated (several during rotation)', secret: true, parse: list(prefixed(['whsec_'])) },
  STRIPE_API_BASE: { doc: 'Alternative Stripe API base URL, e.g. the offline emulator http://127.0.0.1:12111', optional: true as const, parse: url(['http:', 'https:']) },
  WEBHOOK_TOLERANCE_SECONDS: { doc: 'Oldest accepted webhook signature timestamp, in seconds', default: '300', parse: int(1, 3600) },
  WEBHOOK_BODY_LIMIT: { doc: 'Largest accepted webhook body, in bytes', default: '1048576', parse: int(1024, 16 * 1048576) },
  API_KEYS: { doc: 'Bearer keys for product-facing routes, comma-separated (at least 16 characters each)', secret: true, parse: list(apiKey) },
  ADMIN_TOKEN: { doc: 'Token for /admin routes and the queue dashboard (at least 16 characters)', secret: true, parse: apiKey },
  APP_URL: { doc: 'Base URL of your product: checkout success/cancel and portal return URLs are built from it', parse: url(['http:', 'https:']) },
  SMTP_URL: { doc: 'SMTP server URL for lifecycle email, e.g. smtp://127.0.0.1:1025', parse: url(['smtp:', 'smtps:']) },
  MAIL_FROM: {
    doc: 'Sender address of lifecycle email',
    parse: (raw: string) => { if (!/^[^@\s<>]+@[^@\s<>]+$/.test(raw) && !/<[^@\s<>]+@[^@\s<>]+>$/.test(raw)) throw new Error('must be an email address'); return raw }
  },
  PLANS_FILE: { doc: 'Plan catalogue (JSON); the default ships starter, pro and enterprise', optional: true as const, parse: text },
  ALLOW_PROMOTION_CODES: { doc: 'true lets customers type a promotion code on Stripe\'s checkout page (a code passed to create-checkout is applied either way)', default: 'false', parse: (raw: string) => oneOf(['true', 'false'] as const)(raw) === 'true' },
  DOWNGRADE_AT: { doc: 'When change-plan moves to a cheaper plan unless the request says: period_end (a subscription schedule; the current plan holds until then) or now (prorated)', default: 'period_end', parse: oneOf(['period_end', 'now'] as const) },
  PAST_DUE_GRACE_DAYS: { doc: 'Days a past_due subscription keeps access after its renewal failed', default: '3', parse: int(0, 60) },
  RATE_LIMIT_USER_PER_MINUTE: { doc: 'Requests per minute for one end user (API key + user_id) on each route that calls Stripe (checkout, portal, plan changes, cancel, resume)', default: '10', parse: int(1, 100_000) },
  RATE_LIMIT_READ_PER_MINUTE: { doc: 'Requests per minute and API key on entitlement and checkout-status reads', default: '6000', parse: int(1, 10_000_000) },
  STRIPE_BUDGET_READS_PER_SECOND: { doc: 'Stripe read requests per second that all api processes together may start (a shared budget in Redis; above it routes answer 429); unset: 20 with a test key, 80 with a live key, below Stripe\'s 25 and 100', optional: true as const, parse: int(1, 10_000) },
  STRIPE_BUDGET_WRITES_PER_SECOND: { doc: 'Stripe write requests per second that all api processes together may start; unset: 20 with a test key, 80 with a live key, below Stripe\'s 25 and 100', optional: true as const, parse: int(1, 10_000) },
  ENTITLEMENTS_CACHE_TTL_SECONDS: { doc: 'Longest an entitlement stays in the Redis read cache (workers also invalidate it on change)', default: '60', parse: int(1, 86_400) },
  LOG_LEVEL: { doc: `Log level: ${levels.join(', ')}`, default: 'info', parse: oneOf(levels) },
  WORKER_QUEUES: { doc: `Queues this worker process consumes, comma-separated: ${queues.join(', ')}`, default: queues.join(','), parse: (raw: string) => list(oneOf(queues))(raw) },
  WORKER_CONCURRENCY: { doc: 'Jobs one worker process runs at once per queue (the stripe-events queue has APPLY_BATCH_SIZE)', default: '8', parse: int(1, 256) },
  APPLY_BATCH_SIZE: { doc: 'Stripe events one worker process holds at once; those waiting together are applied in one transaction', default: '32', parse: int(1, 256) },
  METRICS_PORT: { doc: 'Port of a worker process\'s own Prometheus /metrics endpoint; 0 turns it off (the api serves /metrics on PORT)', default: '9464', parse: int(0, 65535) },
  METRICS_TOKEN: { doc: 'Bearer token that GET /metrics on the api requires; unset leaves it open for a scraper on a private network', optional: true as const, secret: true, parse: apiKey },
  RECONCILE_EVERY_SECONDS: { doc: 'How often a worker lists recent Stripe events and queues any that never arrived; 0 turns the sweep off', default: '3600', parse: int(0, 7 * 86_400) },
  RETENTION_EVERY_SECONDS: { doc: 'How often a worker prunes what the retention policy no longer keeps (event payloads, sent email, old usage ledger entries and windows), in small batches; 0 turns it off', default: '3600', parse: int(0, 7 * 86_400) },
  EVENT_PAYLOAD_RETENTION_DAYS: { doc: 'Days a Stripe event\'s payload is kept in stripe_events; the event\'s row (its idempotency claim) stays for ever, and failed events keep their payload. 0 keeps payloads for ever', default: '30', parse: int(0, 36_500) },
  EMAIL_RETENTION_DAYS: { doc: 'Days a sent email\'s outbox row (recipient, template data) is kept; pending and failed rows stay. 0 keeps them for ever', default: '30', parse: int(0, 36_500) },
  USAGE_LEDGER_COMPACT_HOURS: { doc: 'Hours after which usage ledger entries are folded into one row per user, metric and billing period holding their sum (totals stay exact); at least 25, beyond the 24 h a usage call may be retried under its idempotency key, and never past an entry still waiting in Redis', default: '48', parse: int(25, 87_600) },
  USAGE_LEDGER_RETENTION_DAYS: { doc: 'Days after its start a billing period\'s usage ledger rows, and its sent overage reports, are kept; a user\'s current period is always kept, pending and failed reports stay. At least 90 (the overage reporter reads the last period); 0 keeps them for ever', default: '400', parse: days(90) },
  USAGE_REPORT_EVERY_SECONDS: { doc: 'How often a worker reports usage above a plan\'s included amount to Stripe Billing Meters (overage); 0 turns reporting off', default: '60', parse: int(0, 86_400) },
  PRODUCT_WEBHOOK_URL: { doc: 'Your product\'s endpoints for Tollgate\'s events (Standard Webhooks), comma-separated; admins may add more at run time', optional: true as const, parse: list(url(['http:', 'https:'])) },
  PRODUCT_WEBHOOK_SECRET: { doc: 'Secrets that sign events to PRODUCT_WEBHOOK_URL (whsec_ + base64), comma-separated, newest first: every one signs while you rotate', optional: true as const, secret: true, parse: list(standardSecret) },
  PRODUCT_WEBHOOK_MAX_FAILURES: { doc: 'Failed delivery attempts in a row (no success between) after which an endpoint is disabled until an admin enables it', default: '1000', parse: int(1, 1_000_000) },
  PRODUCT_WEBHOOK_RETRY_BASE_MS: { doc: 'First retry delay of a failed product event delivery; each next one doubles, with jitter (15 attempts: the default spreads them over about 3 days)', default: '15000', parse: int(10, 3_600_000) },
  PRODUCT_DELIVERY_RETENTION_DAYS: { doc: 'Days the attempt log of product event deliveries, and the record of delivered ones, is kept; the events stay (replayable). 0 keeps them for ever', default: '30', parse: int(0, 36_500) },
  PRICES_REFRESH_SECONDS: { doc: 'How often the prices worker re-reads every plan\'s price from Stripe into the cache; 0 turns the schedule off (price events and worker start still refresh)', default: '600', parse: int(0, 86_400) }
} satisfies ConfigSpec
