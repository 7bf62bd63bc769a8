import t from 'tap'
import { Redis } from 'ioredis'
import { createRedis, waitReady } from '../../src/queue/connections.js'
import { RedisProcess } from '../helpers/redis-server.js'

/** How many times redis-server has read from a client socket (INFO stats), counting this INFO's own read. */
async function readsProcessed (admin: Redis): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await admin.info('stats'))![1])
}

t.test("the api's Redis connection sends the commands of one event-loop turn in one write", async t => {
  const redis = await RedisProcess.start()
  t.teardown(() => redis.destroy())
  const admin = new Redis(redis.url)
  const client = createRedis(redis.url, 'producer')
  t.teardown(() => { client.disconnect(); admin.disconnect() })
  await waitReady(client)

  const before = await readsProcessed(admin)
  // 200 commands issued together, as 50 concurrent requests issue theirs.
  const replies = await Promise.all(Array.from({ length: 200 }, () => client.incr('tg:coalesce')))
  const reads = await readsProcessed(admin) - before - 1
  t.same(replies, Array.from({ length: 200 }, (_, i) => i + 1), 'every command answered, in order')
  t.ok(reads <= 2, `redis-server read them in ${reads} read(s), not one per command`)

  const later = await Promise.all([client.get('tg:coalesce'), new Promise(resolve => setImmediate(resolve)).then(() => client.get('tg:coalesce'))])
  t.same(later, ['200', '200'], 'commands of the next turn go out too')
})
