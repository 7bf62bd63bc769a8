import Fastify from 'fastify'
import t from 'tap'
import { lazyScope } from '../../src/http/lazy-scope.js'

t.test('a lazy scope is built on its first request and answers like the routes it holds', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  let loads = 0
  let fail = true
  let closed = false
  await app.register(async scope => {
    scope.addHook('onRequest', async (req, reply) => { if (req.headers['x-pass'] !== 'yes') return reply.code(401).send({ error: 'unauthorized' }) })
    lazyScope(scope, '/tool', async () => {
      loads++
      if (fail) throw new Error('first build fails')
      return async inner => {
        inner.addHook('onClose', async () => { closed = true })
        inner.get('/tool', async () => ({ page: 'index' }))
        inner.post('/tool/items/:id', async (req, reply) => reply.code(201).header('x-item', (req.params as { id: string }).id).send({ got: req.body, query: req.query }))
        inner.get('/tool/asset.css', async (_req, reply) => reply.type('text/css').send(Buffer.from('body{}')))
      }
    })
  })
  app.get('/other', async () => ({ ok: true }))
  await app.ready()

  t.equal(loads, 0, 'nothing is loaded at start')
  t.equal((await app.inject('/other')).statusCode, 200)
  t.equal((await app.inject('/tool')).statusCode, 401, 'the outer scope\'s hooks run first')
  t.equal(loads, 0, 'a refused request loads nothing')

  const headers = { 'x-pass': 'yes' }
  t.equal((await app.inject({ url: '/tool', headers })).statusCode, 500, 'a failed build answers 500')
  fail = false
  const index = await app.inject({ url: '/tool', headers })
  t.equal(index.statusCode, 200, 'and the next request builds it again')
  t.same(index.json(), { page: 'index' })
  const post = await app.inject({ method: 'POST', url: '/tool/items/7?x=1', headers, payload: { name: 'a' } })
  t.equal(post.statusCode, 201, 'status')
  t.equal(post.headers['x-item'], '7', 'headers')
  t.same(post.json(), { got: { name: 'a' }, query: { x: '1' } }, 'JSON body and query reach the inner route')
  const css = await app.inject({ url: '/tool/asset.css', headers })
  t.match(css.headers['content-type'], /^text\/css/)
  t.equal(css.body, 'body{}')
  t.equal((await app.inject({ url: '/tool/missing', headers })).statusCode, 404)
  t.equal(loads, 2, 'built once after the failure')
  await app.close()
  t.ok(closed, 'closing the app closes the inner instance')
})
