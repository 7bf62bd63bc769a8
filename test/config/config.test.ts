import t from 'tap'
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { spawnSync } from 'node:child_process'
import { loadConfig, ConfigError } from '../../src/config/index.js'
import { DEMO_VALUES, EXAMPLE_PLACEHOLDERS } from '../../src/config/placeholders.js'
import { configSpec } from '../../src/config/spec.js'

const valid = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tollgate',
  STRIPE_SECRET_KEY: 'sk_test_abcdefghijkl',
  STRIPE_WEBHOOK_SECRET: 'whsec_one_abcdefgh, whsec_two_abcdefgh',
  API_KEYS: 'key_one_0123456789abcdef,key_two_0123456789abcdef',
  ADMIN_TOKEN: 'admin_0123456789abcdef',
  APP_URL: 'https://app.example.com',
  SMTP_URL: 'smtp://127.0.0.1:1025',
  MAIL_FROM: 'Billing <billing@example.com>'
}

t.test('valid environment parses with defaults and lists', async t => {
  const c = loadConfig(valid, '')
  t.equal(c.PORT, 3000)
  t.equal(c.QUEUE_PREFIX, '{tollgate}')
  t.same(c.STRIPE_WEBHOOK_SECRET, ['whsec_one_abcdefgh', 'whsec_two_abcdefgh'])
  t.same(c.API_KEYS.length, 2)
  t.equal(c.STRIPE_API_BASE, undefined)
  t.same(c.WORKER_QUEUES, ['stripe-events', 'email', 'prices', 'product-events'])
})

t.test('each missing or malformed value is refused, naming the variable', async t => {
  const bad: Array<[string, string | undefined, RegExp]> = [
    ['DATABASE_URL', undefined, /DATABASE_URL is required/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL must use postgres/],
    ['PORT', 'eighty', /PORT must be a whole number/],
    ['PORT', '70000', /PORT must be between/],
    ['STRIPE_SECRET_KEY', 'pk_test_abcdefgh', /STRIPE_SECRET_KEY must start with sk_ or rk_/],
    ['STRIPE_WEBHOOK_SECRET', 'whsec_ok_abcdefg,nope', /STRIPE_WEBHOOK_SECRET must start with whsec_/],
    ['API_KEYS', 'short', /API_KEYS each key must be at least 16/],
    ['APP_URL', 'not a url', /APP_URL must be a URL/],
    ['REDIS_URL', 'http://x', /REDIS_URL must use redis/],
    ['REDIS_URL', 'redis+cluster://a:7000,b', /REDIS_URL names a seed node "b"; each must be host:port/],
    ['REDIS_URL', 'redis+cluster://a:7000/2', /REDIS_URL must be redis\+cluster:\/\/\[user:password@\]host:port/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of/],
    ['MAIL_FROM', 'nobody', /MAIL_FROM must be an email address/],
    ['WORKER_QUEUES', 'stripe-events,nope', /WORKER_QUEUES must be one of/],
    ['STRIPE_API_BASE', 'ftp://x', /STRIPE_API_BASE must use http/],
    ['USAGE_LEDGER_COMPACT_HOURS', '24', /USAGE_LEDGER_COMPACT_HOURS must be between 25/],
    ['USAGE_LEDGER_RETENTION_DAYS', '30', /USAGE_LEDGER_RETENTION_DAYS must be 0 \(for ever\) or at least 90/]
  ]
  for (const [name, value, message] of bad) {
    const env: Record<string, string | undefined> = { ...valid, [name]: value }
    t.throws(() => loadConfig(env, ''), message, `${name}=${value}`)
    try { loadConfig(env, '') } catch (err) {
      t.type(err, ConfigError)
      t.equal((err as ConfigError).variable, name)
      t.notMatch((err as Error).message, /\n/, 'one line')
    }
  }
})

t.test('a variable an earlier release read is refused with the name that replaced it', async t => {
  const err = t.throws(() => loadConfig({ ...valid, RATE_LIMIT_STRIPE_PER_MINUTE: '3' }, '')) as ConfigError
  t.ok(err instanceof ConfigError)
  t.match(err.message, /RATE_LIMIT_STRIPE_PER_MINUTE is no longer read: set RATE_LIMIT_USER_PER_MINUTE/)
  t.doesNotThrow(() => loadConfig({ ...valid, RATE_LIMIT_STRIPE_PER_MINUTE: '' }, ''), 'an empty one is not a setting')
})

t.test('every problem is reported at once, one line each', async t => {
  const err = (() => { try { loadConfig({ PORT: 'eighty', APP_URL: 'nope' }, '') } catch (e) { return e as ConfigError } })()!
  t.type(err, ConfigError)
  t.same(err.problems.map(p => p.variable), ['PORT', 'DATABASE_URL', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'API_KEYS', 'ADMIN_TOKEN', 'APP_URL', 'SMTP_URL', 'MAIL_FROM'])
  t.same(err.problems.filter(p => p.missing).length, 7, 'seven missing, two malformed')
  const lines = err.message.split('\n')
  t.equal(lines[0], 'Invalid configuration, 9 problems:')
  t.match(lines[1], /^ {2}PORT must be a whole number/)
  t.equal(lines.length, 10)
})

t.test('placeholders and the demo\'s published values are refused against real Stripe, accepted with the emulator', async t => {
  for (const [name, value] of [...Object.entries(EXAMPLE_PLACEHOLDERS), ...Object.entries(DEMO_VALUES)]) {
    const env = { ...valid, [name]: name === 'API_KEYS' ? `${valid.API_KEYS},${value}` : value }
    t.throws(() => loadConfig(env, ''), new RegExp(`${name} is (\\.env\\.example's placeholder|the offline demo's published value)`), `${name}=${value} with real Stripe`)
    t.doesNotThrow(() => loadConfig({ ...env, STRIPE_API_BASE: 'http://127.0.0.1:12111' }, ''), `${name}=${value} with the emulator`)
  }
  t.throws(() => loadConfig({ ...valid, ...DEMO_VALUES, STRIPE_API_BASE: 'https://api.stripe.com' }, ''), /4 problems/, 'api.stripe.com is real Stripe')
})

t.test('.env.example and docker compose hold exactly the values that are guarded', async t => {
  const example = readFileSync('.env.example', 'utf8')
  for (const [name, value] of Object.entries(EXAMPLE_PLACEHOLDERS)) t.match(example, `\n${name}=${value}\n`, name)
  const compose = readFileSync('docker-compose.yml', 'utf8')
  for (const [name, value] of Object.entries(DEMO_VALUES)) t.match(compose, `${name}: \${${name}:-${value}}`, name)
})

t.test('.env file is read and the environment wins over it', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-env-'))
  const file = join(dir, '.env')
  writeFileSync(file, Object.entries(valid).map(([k, v]) => `${k}="${v}"`).join('\n') + '\nPORT=4000\nLOG_LEVEL=debug\n')
  const c = loadConfig({ LOG_LEVEL: 'warn' }, file)
  t.equal(c.PORT, 4000)
  t.equal(c.LOG_LEVEL, 'warn')
  t.equal(c.APP_URL, valid.APP_URL)
})

t.test('a process started with a bad value stops with one line naming it', async t => {
  for (const entry of ['src/server.ts', 'workers/all.ts']) {
    const res = spawnSync(process.execPath, ['--import', 'tsx', entry], {
      env: { PATH: process.env.PATH, ...valid, PORT: 'abc' }, encoding: 'utf8', timeout: 30_000, cwd: process.cwd()
    })
    t.equal(res.status, 1, entry)
    t.match(res.stderr.trim(), /^Invalid configuration: PORT must be a whole number/, entry)
    t.equal(res.stderr.trim().split('\n').length, 1, `${entry}: one line`)
  }
})

t.test('a process started with nothing configured lists every problem and says where to start', async t => {
  const cwd = mkdtempSync(join(tmpdir(), 'tg-noenv-'))
  const res = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), new URL('../../src/server.ts', import.meta.url).pathname], {
    env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 30_000, cwd
  })
  t.equal(res.status, 1)
  t.match(res.stderr, /^Invalid configuration, 8 problems:\n {2}DATABASE_URL is required/)
  t.match(res.stderr, /\n {2}MAIL_FROM is required/)
  t.match(res.stderr, `No .env in ${cwd}: start from the example with \`cp .env.example .env\``)
})

t.test('.env.example documents every variable', async t => {
  const example = readFileSync('.env.example', 'utf8')
  for (const name of Object.keys(configSpec)) t.match(example, new RegExp(`^#?\\s*${name}=`, 'm'), name)
})

t.test('product endpoints: URLs and Standard Webhooks secrets, a secret required with a URL', async t => {
  const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`
  const c = loadConfig({ ...valid, PRODUCT_WEBHOOK_URL: 'https://a.example.com/e, https://b.example.com/e', PRODUCT_WEBHOOK_SECRET: `${secret},${secret}` }, '')
  t.same(c.PRODUCT_WEBHOOK_URL, ['https://a.example.com/e', 'https://b.example.com/e'])
  t.equal(c.PRODUCT_WEBHOOK_SECRET!.length, 2)
  t.equal(c.PRODUCT_WEBHOOK_MAX_FAILURES, 1000)
  t.throws(() => loadConfig({ ...valid, PRODUCT_WEBHOOK_URL: 'https://a.example.com/e' }, ''), /PRODUCT_WEBHOOK_SECRET is required when PRODUCT_WEBHOOK_URL is set/)
  t.throws(() => loadConfig({ ...valid, PRODUCT_WEBHOOK_URL: 'https://a.example.com/e', PRODUCT_WEBHOOK_SECRET: 'whsec_short' }, ''), /PRODUCT_WEBHOOK_SECRET must be whsec_ followed by base64 of at least 24 bytes/)
  t.throws(() => loadConfig({ ...valid, PRODUCT_WEBHOOK_URL: 'ftp://a.example.com/e', PRODUCT_WEBHOOK_SECRET: secret }, ''), /PRODUCT_WEBHOOK_URL must use http: or https:/)
})
