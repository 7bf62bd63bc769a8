import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { ConfigError, loadConfig } from '../src/config/index.js'
import { createDeps } from '../src/deps.js'
import { loggerOptions } from '../src/logger.js'
import { assertNoEviction, waitReady } from '../src/queue/connections.js'
import type { QueueName } from '../src/queue/policy.js'
import { startWorkers } from '../src/queue/workers.js'

/** Shared by the worker entry files: load config → build deps → start workers → close on SIGTERM. */
export async function runWorkers (queues?: readonly QueueName[]): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : err)
    process.exit(1)
  }
  const log = pino(loggerOptions(config.LOG_LEVEL))
  const selected = queues ?? config.WORKER_QUEUES
  const deps = createDeps(config, { role: 'producer', dbPoolSize: config.WORKER_CONCURRENCY * selected.length + 2 })
  try {
    await waitReady(deps.redis, 10_000)
    await assertNoEviction(deps.redis)
  } catch (err) {
    log.fatal((err as Error).message)
    await deps.close()
    process.exit(1)
  }
  const started = startWorkers(deps, selected, log)
  log.info({ queues: selected, pid: process.pid }, 'workers started')
  closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after error')
    else log.info({ signal }, 'shutting down')
    await started.close()
    await deps.close()
  })
}
