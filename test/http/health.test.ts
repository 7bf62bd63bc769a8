import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

t.test('health', async t => {
  const { app } = await buildTestApp(t)
  const live = await app.inject({ url: '/health/live' })
  t.equal(live.statusCode, 200)
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ok', checks: { redis: true, postgres: true }, failing: [] })
  const missing = await app.inject({ url: '/nope' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error, 'not_found')
})

t.test('readiness names Postgres when it is unreachable', async t => {
  const { app } = await buildTestApp(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' })
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.same(ready.json().failing, ['postgres'])
})
