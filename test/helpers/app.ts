import { pino } from 'pino'
import { Writable } from 'node:stream'
import type { Config } from '../../src/config/index.js'
import { createDeps, type Deps } from '../../src/deps.js'
import { buildApp, type App } from '../../src/http/app.js'
import { waitReady } from '../../src/queue/connections.js'
import { loggerOptions } from '../../src/logger.js'
import { createTestDatabase, createTestPrefix, testConfig } from './env.js'

type T = { teardown: (fn: () => unknown) => void }

export interface TestApp {
  app: App
  deps: Deps
  config: Config
  /** Every log line the app wrote, as text: for asserting what never appears in logs. */
  logs: string[]
}

/** A real app on a fresh database and Redis prefix, closed at teardown. */
export async function buildTestApp (t: T, env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const [url, prefix] = [await createTestDatabase(t), createTestPrefix(t)]
  const config = testConfig({ DATABASE_URL: url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'info', ...env })
  const deps = createDeps(config)
  const logs: string[] = []
  const sink = new Writable({ write (chunk, _enc, cb) { logs.push(chunk.toString()); cb() } })
  const app = await buildApp({ deps, loggerInstance: pino(loggerOptions('info'), sink) })
  await app.ready()
  await waitReady(deps.redis)
  await Promise.all(Object.values(deps.queues).map(q => q.waitUntilReady()))
  t.teardown(async () => { await app.close(); await deps.close() })
  return { app, deps, config, logs }
}
