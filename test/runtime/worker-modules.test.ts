import t from 'tap'
import { modulesOf } from '../helpers/modules.js'

t.test('a worker process loads none of the api\'s HTTP stack', async t => {
  const urls = modulesOf('workers/run.ts')
  t.ok(urls.some(u => u.includes('/node_modules/bullmq/')), 'the hook sees the worker\'s packages')
  const http = ['fastify', '@fastify/', '@bull-board/', 'ajv', 'yaml', 'find-my-way']
  for (const name of http) t.notOk(urls.some(u => u.includes(`/node_modules/${name}`)), `no ${name}`)
  // The catalogue is checked by TypeBox's schema engine; its type builder is for the routes' schemas.
  t.notOk(urls.some(u => u.includes('/node_modules/typebox/build/type/')), 'no TypeBox type builder')
})
