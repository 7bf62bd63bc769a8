import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { API_KEY } from '../helpers/env.js'

t.test('health', async t => {
  const { app } = await buildTestApp(t)
  const live = await app.inject({ url: '/health/live' })
  t.equal(live.statusCode, 200)
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ok', checks: { redis: true, postgres: true }, failing: [], reasons: {} })
  const missing = await app.inject({ url: '/nope' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error, 'not_found')
})

t.test('readiness names Postgres when it is unreachable', async t => {
  const { app } = await buildTestApp(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' })
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.same(ready.json().failing, ['postgres'])
  t.match(ready.json().reasons, { postgres: /^Postgres is unreachable: .*ECONNREFUSED/ })
})

t.test('readiness says, in one line, that the database does not exist; the log says it once', async t => {
  const { app, logs } = await buildTestApp(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tollgate_no_such_db' })
  for (let i = 0; i < 3; i++) {
    const ready = await app.inject({ url: '/health/ready' })
    t.equal(ready.statusCode, 503)
    t.same(ready.json().reasons, { postgres: 'Postgres: database "tollgate_no_such_db" does not exist (create it (npm run db:migrate -- --create-database), or correct DATABASE_URL)' })
  }
  const logged = logs.map(l => JSON.parse(l)).filter(l => /^not ready/.test(l.msg))
  t.equal(logged.length, 1, 'logged once, not on every probe')
  t.match(logged[0], { level: 50, msg: 'not ready: Postgres: database "tollgate_no_such_db" does not exist (create it (npm run db:migrate -- --create-database), or correct DATABASE_URL)' })

  const read = await app.inject({ url: '/api/v1/entitlements/u1', headers: { authorization: `Bearer ${API_KEY}` } })
  t.equal(read.statusCode, 500)
  const failed = logs.map(l => JSON.parse(l)).filter(l => l.level === 50 && l.err)
  t.match(failed.at(-1), { msg: /^Postgres: database "tollgate_no_such_db" does not exist/ }, 'a failed request logs the cause as its message')
})
