import t from 'tap'
import { modulesOf } from '../helpers/modules.js'

// The idle api's RSS target (issue 18): the operator pages' packages load on their first request
// (src/http/lazy-scope.ts), so the app's import graph holds none of them.
t.test('the api loads neither the queue dashboard nor the docs UI at start', async t => {
  const urls = modulesOf('src/http/app.ts')
  t.ok(urls.some(u => u.includes('/node_modules/fastify/')), 'the hook sees the api\'s packages')
  for (const name of ['@bull-board/', 'valibot', 'lodash', 'ejs', '@fastify/view', '@fastify/static', '@fastify/swagger', 'yaml']) {
    t.notOk(urls.some(u => u.includes(`/node_modules/${name}`)), `no ${name}`)
  }
  t.notOk(urls.some(u => u.endsWith('/src/http/product-event-schemas.ts')), 'nor the schemas only the document shows')
})
