import { spawn } from 'node:child_process'
import { createDeps } from '../../src/deps.js'
import { createTestDatabase, createTestPrefix, testConfig, WEBHOOK_SECRET } from './env.js'

/** A worker process (`workers/all.ts`) on its own database and prefix; `out` collects its output. */
export async function spawnWorker (t: { teardown: (fn: () => unknown) => void }, extra: Record<string, string>) {
  const env = { DATABASE_URL: await createTestDatabase(t), QUEUE_PREFIX: createTestPrefix(t) }
  const config = testConfig(env)
  // deps reach the test's own database and prefix; `extra` may point the worker at another database.
  const deps = createDeps(config)
  t.teardown(() => deps.close())
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/all.ts'], {
    env: { ...process.env, ...env, REDIS_URL: config.REDIS_URL, STRIPE_SECRET_KEY: config.STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, API_KEYS: config.API_KEYS.join(','), ADMIN_TOKEN: config.ADMIN_TOKEN, APP_URL: config.APP_URL, SMTP_URL: config.SMTP_URL, MAIL_FROM: config.MAIL_FROM, RECONCILE_EVERY_SECONDS: '0', RETENTION_EVERY_SECONDS: '0', LOG_LEVEL: 'warn', ...extra },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const worker = { child, deps, out: '' }
  child.stdout.on('data', d => { worker.out += d })
  child.stderr.on('data', d => { worker.out += d })
  t.teardown(() => { child.kill('SIGKILL') })
  return worker
}
