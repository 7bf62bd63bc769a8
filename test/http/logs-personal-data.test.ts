import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { ADMIN_TOKEN, API_KEY } from '../helpers/env.js'

t.test('request log lines carry no user id that is an email address, however it is written in the URL', async t => {
  const { app, logs } = await buildTestApp(t)
  const get = (url: string, token = API_KEY) => app.inject({ url, headers: { authorization: `Bearer ${token}` } })

  t.equal((await get('/api/v1/entitlements/ada@example.com')).statusCode, 200)
  t.equal((await get('/api/v1/entitlements/bo%40example.com')).statusCode, 200)
  t.equal((await get('/api/v1/entitlements/cy%2540example.com')).statusCode, 400, 'double-encoded: refused by the schema, logged all the same')
  t.equal((await get('/api/v1/entitlement/di@example.com')).statusCode, 404, 'a mistyped route')
  t.equal((await get('/admin/users/ed@example.com/timeline', ADMIN_TOKEN)).statusCode, 404)
  t.equal((await get('/admin/events?type=fy@example.com', ADMIN_TOKEN)).statusCode, 200)
  t.equal((await get('/api/v1/entitlements/u_42')).statusCode, 200)

  const text = logs.join('')
  const urls = logs.map(l => JSON.parse(l)).filter(l => l.msg === 'incoming request').map(l => l.req.url)
  t.same(urls, [
    '/api/v1/entitlements/[redacted]',
    '/api/v1/entitlements/[redacted]',
    '/api/v1/entitlements/[redacted]',
    '/api/v1/entitlement/[redacted]',
    '/admin/users/[redacted]/timeline',
    '/admin/events?type=[redacted]',
    '/api/v1/entitlements/u_42'
  ], 'the id segment is redacted; an opaque id stays for operators')
  for (const who of ['ada', 'bo', 'cy', 'di', 'ed', 'fy']) t.notMatch(text, `${who}@`, `${who}: no address anywhere in the logs`)
  t.notMatch(text, /%(25)*40example/, 'nor its encoded form')
})
