import { spawnSync } from 'node:child_process'
import t from 'tap'

/**
 * The modules a fresh process loads for an entry file (its static import graph, nothing run): a
 * synchronous load hook records every URL, then the entry is imported through tsx.
 */
function modulesOf (entry: string): string[] {
  const script = `
    import { registerHooks } from 'node:module'
    const urls = []
    registerHooks({ load (url, context, next) { urls.push(url); return next(url, context) } })
    await import(${JSON.stringify(new URL(`../../${entry}`, import.meta.url).href)})
    process.stdout.write(JSON.stringify(urls))
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH } })
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout) as string[]
}

t.test('a worker process loads none of the api\'s HTTP stack', async t => {
  const urls = modulesOf('workers/run.ts')
  t.ok(urls.some(u => u.includes('/node_modules/bullmq/')), 'the hook sees the worker\'s packages')
  const http = ['fastify', '@fastify/', '@bull-board/', 'ajv', 'yaml', 'find-my-way']
  for (const name of http) t.notOk(urls.some(u => u.includes(`/node_modules/${name}`)), `no ${name}`)
  // The catalogue is checked by TypeBox's schema engine; its type builder is for the routes' schemas.
  t.notOk(urls.some(u => u.includes('/node_modules/typebox/build/type/')), 'no TypeBox type builder')
})
