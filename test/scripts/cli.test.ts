import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { PG_ADMIN_URL, rid, testConfig } from '../helpers/env.js'

const ROOT = new URL('../..', import.meta.url).pathname
const config = testConfig({})
// A complete configuration, as a shell would hold it; cwd outside the repository so no .env joins in.
const base = {
  PATH: process.env.PATH!,
  DATABASE_URL: config.DATABASE_URL,
  STRIPE_SECRET_KEY: config.STRIPE_SECRET_KEY,
  STRIPE_WEBHOOK_SECRET: config.STRIPE_WEBHOOK_SECRET.join(','),
  API_KEYS: config.API_KEYS.join(','),
  ADMIN_TOKEN: config.ADMIN_TOKEN,
  APP_URL: config.APP_URL,
  SMTP_URL: config.SMTP_URL,
  MAIL_FROM: config.MAIL_FROM,
  REDIS_URL: config.REDIS_URL
}

function run (file: string, env: Record<string, string>, args: string[] = [], cwd = mkdtempSync(join(tmpdir(), 'tg-cli-'))) {
  const res = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, file), ...args], {
    env: { ...base, ...env }, cwd, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe']
  })
  return { status: res.status, stdout: res.stdout, stderr: res.stderr.trim() }
}

t.test('reconcile with Stripe out of reach says so in one line, no stack trace', async t => {
  const res = run('scripts/reconcile.ts', { STRIPE_API_BASE: 'http://127.0.0.1:1' }, ['--since', '1h'])
  t.equal(res.status, 1)
  t.match(res.stderr, /^reconcile failed: could not reach Stripe at http:\/\/127\.0\.0\.1:1: /)
  t.equal(res.stderr.split('\n').length, 1, 'one line')
})

t.test('reconcile with the demo key and no STRIPE_API_BASE is refused before any call', async t => {
  const res = run('scripts/reconcile.ts', { STRIPE_SECRET_KEY: 'sk_test_offline_demo_0123456789' })
  t.equal(res.status, 1)
  t.equal(res.stderr, "reconcile failed: Invalid configuration: STRIPE_SECRET_KEY is the offline demo's published value, accepted only with STRIPE_API_BASE set to the emulator: use your own key from the Stripe Dashboard (Developers → API keys)")
})

t.test('reconcile with nothing configured beside a running stack points at npm run stack -- reconcile', async t => {
  const cwd = mkdtempSync(join(tmpdir(), 'tg-cli-'))
  writeFileSync(join(cwd, '.env.stack'), '# stack pid 1\n')
  const res = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'scripts/reconcile.ts')], { env: { PATH: process.env.PATH }, cwd, encoding: 'utf8', timeout: 60_000 })
  t.equal(res.status, 1)
  t.match(res.stderr, /^reconcile failed: Invalid configuration, 8 problems:/)
  t.match(res.stderr, /A stack runs here \(\.env\.stack\): to run this against it, npm run stack -- <script>/)
})

t.test('db:migrate names a missing database in one line, and creates it when asked', async t => {
  const name = `tollgate_t_${rid()}`
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`)
  t.teardown(async () => {
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  })
  const refused = run('scripts/migrate.ts', { DATABASE_URL: url })
  t.equal(refused.status, 1)
  t.equal(refused.stderr, `db:migrate failed: Postgres: database "${name}" does not exist (create it (npm run db:migrate -- --create-database), or correct DATABASE_URL)`)
  const created = run('scripts/migrate.ts', { DATABASE_URL: url }, ['--create-database'])
  t.equal(created.status, 0, created.stderr)
  t.equal(created.stdout, `created database "${name}"\nmigrations applied\n`)
  t.equal(run('scripts/migrate.ts', { DATABASE_URL: url }).stdout, 'migrations applied\n', 'and migrates it as usual afterwards')
})

t.test('npm run stack -- <script> without a running stack says how to start one', async t => {
  const res = run('scripts/stack.ts', { STACK_ENV_FILE: join(tmpdir(), `none-${rid()}.env`) }, ['reconcile'])
  t.equal(res.status, 1)
  t.match(res.stderr, /^npm run stack -- reconcile: no .*none-\w+\.env here: start the stack first \(npm run stack\), in this directory$/)
  t.equal(run('scripts/stack.ts', {}, ['bogus']).status, 2, 'an unknown script is refused')
})
