import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { configSpec } from '../../src/config/spec.js'

// The compose files are kept right by reading and by `docker-compose config` (no Docker engine is
// needed to validate them); the validation runs where docker-compose is installed.

const FILES = ['docker-compose.yml', 'docker-compose.hosts.yml']

t.test('every compose file passes every Tollgate variable through', async t => {
  // The containers listen where the image says; a published port maps it.
  const fixed = new Set(['PORT', 'HOST'])
  for (const file of FILES) {
    const text = readFileSync(file, 'utf8')
    for (const name of Object.keys(configSpec).filter(n => !fixed.has(n))) t.match(text, new RegExp(`^  ${name}: \\$\\{${name}[:?-]`, 'm'), `${file}: ${name}`)
  }
})

const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0
t.test('docker-compose config validates the several-host file, profile by profile', { skip: !hasCompose && 'docker-compose is not installed' }, async t => {
  const env = {
    PATH: process.env.PATH,
    DATABASE_URL: 'postgres://tollgate:pw@10.0.0.10:5432/tollgate',
    REDIS_URL: 'redis://:pw@10.0.0.10:6379',
    POSTGRES_PASSWORD: 'pw',
    REDIS_PASSWORD: 'pw',
    STRIPE_SECRET_KEY: 'sk_test_x',
    STRIPE_WEBHOOK_SECRET: 'whsec_x',
    API_KEYS: 'k',
    ADMIN_TOKEN: 'a',
    APP_URL: 'https://app.example.com',
    SMTP_URL: 'smtp://mail:25',
    MAIL_FROM: 'billing@example.com'
  }
  for (const profile of ['data', 'migrate', 'api', 'workers']) {
    const run = spawnSync('docker-compose', ['-f', 'docker-compose.hosts.yml', '--profile', profile, 'config'], { env, encoding: 'utf8' })
    t.equal(run.status, 0, `${profile}: ${run.stderr.trim()}`)
    t.match(run.stdout, profile === 'data' ? /redis-server/ : /DATABASE_URL: postgres:\/\/tollgate:pw@10\.0\.0\.10:5432\/tollgate/, `${profile}: resolved`)
  }
  const missing = spawnSync('docker-compose', ['-f', 'docker-compose.hosts.yml', '--profile', 'api', 'config'], { env: { ...env, DATABASE_URL: '' }, encoding: 'utf8' })
  t.not(missing.status, 0, 'a host without DATABASE_URL is refused')
  t.match(missing.stderr, /set DATABASE_URL/, 'naming the variable')
})
