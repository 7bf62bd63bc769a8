import t from 'tap'
import { buildTestApp } from '../../helpers/app.js'
import { ADMIN_TOKEN, API_KEY } from '../../helpers/env.js'

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

t.test('admin routes and the queue dashboard need the admin token', async t => {
  const { app } = await buildTestApp(t)
  const get = (url: string, authorization?: string) =>
    app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} })

  for (const url of ['/admin/events', '/admin/queues', '/admin/jobs/failed?queue=email']) {
    const none = await get(url)
    t.equal(none.statusCode, 401, `${url} without a token`)
    t.match(none.headers['www-authenticate'], /^Basic realm="Tollgate admin"/, 'a browser is asked for the token')
    t.equal(none.json().error, 'unauthorized')
    t.equal((await get(url, `Bearer ${API_KEY}`)).statusCode, 401, `${url} refuses a product API key`)
    t.equal((await get(url, basic('admin', API_KEY))).statusCode, 401, `${url} refuses a product API key as password`)
    t.equal((await get(url, `Bearer ${ADMIN_TOKEN}x`)).statusCode, 401, `${url} refuses a near miss`)
    t.equal((await get(url, basic(ADMIN_TOKEN, 'x'))).statusCode, 401, 'the token as user name is not the password')
  }

  t.equal((await get('/admin/events', `Bearer ${ADMIN_TOKEN}`)).statusCode, 200, 'bearer token')
  t.equal((await get('/admin/events', basic('ops', ADMIN_TOKEN))).statusCode, 200, 'basic auth, any user name')

  const page = await get('/admin/queues', basic('ops', ADMIN_TOKEN))
  t.equal(page.statusCode, 200, 'dashboard page loads with basic auth')
  t.match(page.headers['content-type'], /text\/html/)
  t.match(page.body, /Tollgate queues|bull/i)
  t.notMatch(page.body, /fonts\.googleapis|fonts\.gstatic/, 'the page loads no font from Google')
  t.match(page.body, /static\/css\/main\.[0-9a-f]+\.css/, "and keeps bull-board's own stylesheet")
  const api = await get('/admin/queues/api/queues', basic('ops', ADMIN_TOKEN))
  t.equal(api.statusCode, 200, "the dashboard's own api answers")
  t.same(api.json().queues.map((q: { name: string }) => q.name).sort(), ['email', 'prices', 'product-events', 'stripe-events'])
  t.equal((await get('/admin/queues/api/queues')).statusCode, 401, "and is closed without the token")

  t.equal((await get('/api/v1/entitlements/u1', `Bearer ${ADMIN_TOKEN}`)).statusCode, 401, 'the admin token is not a product key')
})
