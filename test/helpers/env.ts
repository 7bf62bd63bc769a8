import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { Cluster } from 'ioredis'
import Stripe from 'stripe'
import { loadConfig, type Config } from '../../src/config/index.js'
import { runMigrations } from '../../src/db/migrate.js'
import { createRedis, waitReady, type RedisClient } from '../../src/queue/connections.js'

type Teardown = { teardown: (fn: () => unknown) => void }

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
/** The shared Redis, or a Redis Cluster when TEST_REDIS_URL names one (`npm run test:cluster`). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
export const WEBHOOK_SECRET = 'whsec_test_secret_primary_0123456789'
export const API_KEY = 'tg_test_key_0123456789abcdef'
export const ADMIN_TOKEN = 'tg_admin_token_0123456789abcdef'

export const rid = (n = 6) => randomBytes(n).toString('hex')

/** A fresh, migrated database for one test file, dropped at teardown (on the shared server unless `adminUrl` names another). */
export async function createTestDatabase (t: Teardown, adminUrl = PG_ADMIN_URL): Promise<string> {
  const name = `tollgate_t_${rid()}`
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = adminUrl.replace(/\/[^/]*$/, `/${name}`)
  t.teardown(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  })
  await runMigrations(url)
  return url
}

/** A client of the tests' Redis (one server or a cluster, as `url` says) that waits out outages, as a worker's does. */
export function testRedis (url = REDIS_URL): RedisClient {
  return createRedis(url, 'worker')
}

/**
 * For a test file that runs BullMQ workers in its own process (`root` is tap's root test). On a
 * Redis Cluster, BullMQ 5.81 may reconnect a worker's blocking connection while close() interrupts
 * its BZPOPMIN (its cluster reconnect is disabled only later in close): that connection, held by
 * nobody, keeps the process alive, and tap fails the file on its timeout after every test passed.
 * There, once every test has ended, the process has 2 s to exit on its own and is then ended, as the
 * worker processes end with process.exit. On a single Redis nothing changes, so a connection left
 * open by Tollgate itself still hangs the file in `npm test`.
 */
export function exitAfterTests (root: Teardown): void {
  if (!/^rediss?\+cluster:/.test(REDIS_URL)) return
  root.teardown(() => { setTimeout(() => process.exit(), 2000).unref() })
}

/** A key prefix (with a hash tag) of one's own; every key under it is deleted at teardown. */
export function createTestPrefix (t: Teardown): string {
  const prefix = `{tgtest-${rid()}}`
  t.teardown(() => deleteKeys(REDIS_URL, prefix))
  return prefix
}

/** Deletes every key under `prefix`, on each master when `url` names a cluster. */
export async function deleteKeys (url: string, prefix: string): Promise<void> {
  const client = testRedis(url)
  try {
    await waitReady(client, 10_000)
    for (const server of client instanceof Cluster ? client.nodes('master') : [client]) {
      let cursor = '0'
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        // A cluster node refuses a DEL of keys on different slots, even slots it holds itself.
        if (keys.length) await keys.reduce((p, k) => p.del(k), server.pipeline()).exec()
      } while (cursor !== '0')
    }
  } finally {
    client.disconnect()
  }
}

export function testConfig (env: Record<string, string | undefined>): Config {
  return loadConfig({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
    REDIS_URL,
    QUEUE_PREFIX: '{tgtest}',
    STRIPE_SECRET_KEY: 'sk_test_tollgate_0123456789',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    API_KEYS: API_KEY,
    ADMIN_TOKEN,
    APP_URL: 'http://app.example.test',
    SMTP_URL: 'smtp://127.0.0.1:2525',
    MAIL_FROM: 'billing@example.test',
    LOG_LEVEL: 'silent',
    // Tests call Stripe routes back to back, faster than a product would; the limit tests set these low.
    STRIPE_BUDGET_READS_PER_SECOND: '10000',
    STRIPE_BUDGET_WRITES_PER_SECOND: '10000',
    ...env
  }, '')
}

/** What a truthy check answers: `cond && value` polls give back the value, never the `false`. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>

/**
 * Polls `fn` until it returns a truthy value; fails with `what` once the deadline passes (generous: CI
 * runs two heavy files at once on two cores), also when a call of `fn` itself never settles.
 */
export async function waitFor<T> (fn: () => Promise<T> | T, what = 'condition', timeoutMs = 30_000, intervalMs = 25): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    let timer: NodeJS.Timeout | undefined
    const stuck = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('a check did not answer before the deadline')), Math.max(0, deadline - Date.now()) + 1000)
    })
    try {
      const v = await Promise.race([fn(), stuck])
      if (v) return v as Truthy<T>
    } catch (err) { last = err } finally { clearTimeout(timer) }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

/** Signs a body exactly as Stripe does, for webhook tests. */
export function signBody (body: string, secret = WEBHOOK_SECRET, timestamp = Math.floor(Date.now() / 1000)): string {
  return Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp })
}

export function makeEvent (type = 'customer.subscription.updated', object: Record<string, unknown> = { id: `sub_${rid()}`, object: 'subscription' }, extra: Record<string, unknown> = {}) {
  return {
    id: `evt_${rid(12)}`,
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: Math.floor(Date.now() / 1000),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    ...extra
  }
}
