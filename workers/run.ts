import closeWithGrace from 'close-with-grace'
import { pino, type Logger } from 'pino'
import { loadConfigOrExit } from '../src/config/index.js'
import { createDeps } from '../src/deps.js'
import { oldestPendingAt } from '../src/db/outbox-repo.js'
import { syncConfigEndpoints } from '../src/db/product-endpoints-repo.js'
import { errorLine } from '../src/db/errors.js'
import { reportPostgres } from '../src/db/startup-check.js'
import { loggerOptions } from '../src/logger.js'
import { createMetrics } from '../src/metrics/metrics.js'
import { startMetricsServer } from '../src/metrics/server.js'
import { assertNoEviction, waitReady } from '../src/queue/connections.js'
import { QUEUES, type QueueName } from '../src/queue/policy.js'
import { scheduleOutboxSweep } from '../src/queue/processors/outbox-sweep.js'
import { refreshPricesNow, schedulePricesRefresh } from '../src/queue/processors/prices.js'
import { scheduleProductSweep } from '../src/queue/processors/product-events.js'
import { scheduleReconcile } from '../src/queue/processors/reconcile.js'
import { scheduleRetention } from '../src/queue/processors/retention.js'
import { keepScheduled } from '../src/queue/schedule.js'
import { createAfterCommit } from '../src/queue/apply-ports.js'
import { startOverageReports } from '../src/queue/processors/usage-overage.js'
import { startUsageLedgerDrain } from '../src/queue/usage-ledger-drain.js'
import { startWorkers } from '../src/queue/workers.js'

/** How often a worker upserts its job schedulers again, in case Redis lost one's next job. */
const SCHEDULES_CHECKED_EVERY_MS = 60_000

/**
 * Puts PRODUCT_WEBHOOK_URL's endpoints in the table before events are applied (the apply writes a
 * delivery for each endpoint enabled then). With Postgres out at start no event can be applied
 * either: the workers start anyway, their jobs fail and retry saying why, and the sync is tried
 * again until it succeeds. Returns what stops those tries.
 */
async function syncEndpointsFromConfig (deps: ReturnType<typeof createDeps>, config: ReturnType<typeof loadConfigOrExit>, log: Logger): Promise<() => void> {
  const sync = () => syncConfigEndpoints(deps.db, config.PRODUCT_WEBHOOK_URL, config.PRODUCT_WEBHOOK_SECRET)
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const retry = (delayMs: number) => {
    timer = setTimeout(() => {
      sync().then(() => log.info('product webhook endpoints synced from the configuration'), err => {
        log.warn({ err: errorLine(err) }, 'could not sync the product webhook endpoints; trying again')
        if (!stopped) retry(Math.min(delayMs * 2, 30_000))
      })
    }, delayMs)
  }
  try {
    await sync()
  } catch (err) {
    log.warn({ err: errorLine(err) }, 'could not sync the product webhook endpoints; trying again')
    retry(1000)
  }
  return () => { stopped = true; clearTimeout(timer) }
}

/** Shared by the worker entry files: load config → build deps → start workers → close on SIGTERM. */
export async function runWorkers (queues?: readonly QueueName[]): Promise<void> {
  const config = loadConfigOrExit()
  const log = pino(loggerOptions(config.LOG_LEVEL))
  const selected = queues ?? config.WORKER_QUEUES
  // A connection per job in flight, except on stripe-events: two batches in flight, one for the work
  // after a commit, one for the reconciliation sweep.
  const dbPoolSize = selected.reduce((n, q) => n + (q === QUEUES.stripeEvents ? 4 : config.WORKER_CONCURRENCY), 2)
  const deps = createDeps(config, { role: 'producer', dbPoolSize })
  try {
    await waitReady(deps.redis, 10_000)
    await assertNoEviction(deps.redis)
  } catch (err) {
    log.fatal((err as Error).message)
    await deps.close()
    process.exit(1)
  }
  void reportPostgres(deps.db, log)
  const stopSyncing = await syncEndpointsFromConfig(deps, config, log)
  const started = startWorkers(deps, selected, log)
  // The processes that write billing state also move counted usage into the Postgres ledger.
  const { emailsWritten, productEventsWritten } = createAfterCommit(deps)
  const usageDrain = selected.includes(QUEUES.stripeEvents) ? startUsageLedgerDrain({ redis: deps.redis, db: deps.db, prefix: config.QUEUE_PREFIX, emailsWritten, productEventsWritten }, log) : null
  const overage = selected.includes(QUEUES.stripeEvents) && config.USAGE_REPORT_EVERY_SECONDS > 0 ? startOverageReports(deps, log, config.USAGE_REPORT_EVERY_SECONDS * 1000) : null
  const stopScheduling = await keepScheduled(async () => {
    if (selected.includes(QUEUES.stripeEvents)) await scheduleReconcile(deps.queues.stripeEvents, config.RECONCILE_EVERY_SECONDS)
    if (selected.includes(QUEUES.stripeEvents)) await scheduleRetention(deps.queues.stripeEvents, config.RETENTION_EVERY_SECONDS)
    if (selected.includes(QUEUES.email)) await scheduleOutboxSweep(deps.queues.email)
    if (selected.includes(QUEUES.productEvents)) await scheduleProductSweep(deps.queues.productEvents)
    if (selected.includes(QUEUES.prices)) await schedulePricesRefresh(deps.queues.prices, config.PRICES_REFRESH_SECONDS)
  }, SCHEDULES_CHECKED_EVERY_MS, err => log.warn({ err: err.message }, 'could not check the job schedulers; next try in a minute'))
  if (selected.includes(QUEUES.prices)) await refreshPricesNow(deps.queues.prices)
  // Each worker process serves its own metrics so every replica of a scaled fleet is scraped.
  const metricsServer = config.METRICS_PORT === 0 ? null : await (async () => {
    const metrics = createMetrics({ queues: Object.values(deps.queues), redis: deps.redis, prefix: config.QUEUE_PREFIX, oldestPendingEmail: () => oldestPendingAt(deps.db) })
    for (const worker of started.workers) metrics.instrumentWorker(worker)
    try {
      return await startMetricsServer(metrics.registry, config.METRICS_PORT)
    } catch (err) {
      // A second worker on the same host must still process jobs; it only goes unscraped.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
      log.warn({ metricsPort: config.METRICS_PORT }, 'metrics port in use: this worker serves no metrics; give each worker process on a host its own METRICS_PORT (or 0)')
      return null
    }
  })()
  log.info({ queues: selected, pid: process.pid, metricsPort: metricsServer?.port ?? null }, 'workers started')
  closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after error')
    else log.info({ signal }, 'shutting down')
    stopScheduling()
    stopSyncing()
    await started.close()
    await usageDrain?.close()
    await overage?.close()
    await metricsServer?.close()
    await deps.close()
  })
}
