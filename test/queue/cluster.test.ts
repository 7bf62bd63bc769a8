import { Redis } from 'ioredis'
import t from 'tap'
import { assertNoEviction, createRedis, waitReady } from '../../src/queue/connections.js'
import { buildTestApp } from '../helpers/app.js'
import { waitFor } from '../helpers/env.js'
import { RedisCluster } from '../helpers/redis-cluster.js'

// On a Redis Cluster of its own (it changes a node's settings and kills a master): what a cluster
// needs beyond running the other tests on one.

const cluster = await RedisCluster.start()
t.teardown(() => cluster.destroy())

t.test('startup refuses a cluster any master of which may evict keys, naming that master', async t => {
  const client = createRedis(cluster.url, 'producer')
  t.teardown(() => client.disconnect())
  await waitReady(client, 20_000)
  await t.resolves(assertNoEviction(client), 'every master has noeviction')
  const evicting = await cluster.masterOf('{some-other-slot}')
  const admin = new Redis(evicting.url)
  t.teardown(() => admin.disconnect())
  await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
  await t.rejects(assertNoEviction(client), new RegExp(`maxmemory-policy is "allkeys-lru" on 127\\.0\\.0\\.1:${evicting.port} but Tollgate needs "noeviction"`))
  await admin.config('SET', 'maxmemory-policy', 'noeviction')
})

t.test("readiness asks the master of Tollgate's slot: 503 while it is down, 200 once its replica took over", async t => {
  const { app, config } = await buildTestApp(t, { REDIS_URL: cluster.url })
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)
  const master = await cluster.masterOf(config.QUEUE_PREFIX)
  const replica = await cluster.replicaOf(master)
  await master.stop('SIGKILL')
  const down = await app.inject({ url: '/health/ready' })
  t.equal(down.statusCode, 503, 'the slot has no master: not ready')
  t.same(down.json().failing, ['redis'])
  await waitFor(async () => (await cluster.masterOf(config.QUEUE_PREFIX)).port === replica.port, 'the replica to take over', 60_000, 100)
  await waitFor(async () => (await app.inject({ url: '/health/ready' })).statusCode === 200, 'ready again', 30_000, 100)
  t.pass('ready again on the promoted replica')
})
