import type Stripe from 'stripe'
import { loadCatalogue, type Catalogue } from './billing/plans.js'
import type { Config } from './config/index.js'
import { createDb, type Db } from './db/client.js'
import { createMailer, type Mailer } from './mail/transport.js'
import { createRedis, type RedisClient, type RedisRole } from './queue/connections.js'
import { createQueues, type Queues } from './queue/queues.js'
import { createStripe } from './stripe/client.js'
import { withTimeout } from './with-timeout.js'

export interface Deps {
  config: Config
  catalogue: Catalogue
  db: Db
  sql: ReturnType<typeof createDb>['sql']
  /** Fail-fast connection for producing jobs and for caches. */
  redis: RedisClient
  queues: Queues
  stripe: Stripe
  /** Lifecycle email over SMTP; connects on first use. */
  mailer: Mailer
  close: () => Promise<void>
}

export interface DepsOptions {
  role?: Extract<RedisRole, 'producer' | 'worker'>
  dbPoolSize?: number
}

/** Builds every client the api and the workers share; `close()` ends them in reverse order. */
export function createDeps (config: Config, opts: DepsOptions = {}): Deps {
  const catalogue = loadCatalogue(config.PLANS_FILE)
  const { db, sql, close: closeDb } = createDb(config.DATABASE_URL, { max: opts.dbPoolSize })
  const redis = createRedis(config.REDIS_URL, opts.role ?? 'producer')
  const queues = createQueues(redis, config.QUEUE_PREFIX)
  const stripe = createStripe({ secretKey: config.STRIPE_SECRET_KEY, apiBase: config.STRIPE_API_BASE })
  const mailer = createMailer(config.SMTP_URL, config.MAIL_FROM)
  return {
    config,
    catalogue,
    db,
    sql,
    redis,
    queues,
    stripe,
    mailer,
    async close () {
      mailer.close()
      // A queue closed while its connection is still coming up leaves BullMQ's start-up version check
      // to fail unhandled (a cluster takes longer to come up than one server): a moment to finish first.
      await withTimeout(Promise.allSettled(Object.values(queues).map(q => q.waitUntilReady())), 2000).catch(() => {})
      await Promise.allSettled(Object.values(queues).map(q => q.close()))
      redis.disconnect()
      await closeDb()
    }
  }
}
