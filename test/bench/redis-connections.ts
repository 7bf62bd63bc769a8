import { readFileSync } from 'node:fs'
import { Queue } from 'bullmq'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { createRedis, waitReady, type RedisClient } from '../../src/queue/connections.js'
import { RedisCluster } from '../helpers/redis-cluster.js'
import { RedisProcess } from '../helpers/redis-server.js'

/**
 * Redis connection options side by side, on the two command patterns of the api: a webhook's BullMQ
 * `add` (one EVALSHA carrying a ~3.5 kB event) and an entitlement read (the limiter's INCR + PEXPIRE
 * and the cache's MGET), each issued by 50 concurrent callers. Per variant: operations per second,
 * client CPU and redis-server CPU (of the master that serves the prefix's slot) per operation.
 * Rounds alternate the variants; medians are printed.
 *   npx tsx test/bench/redis-connections.ts            # 3 rounds
 *   REDIS_BENCH_ROUNDS=5 REDIS_BENCH_OPS=20000 npx tsx test/bench/redis-connections.ts
 */
const ROUNDS = Number(process.env.REDIS_BENCH_ROUNDS ?? 3)
const OPS = Number(process.env.REDIS_BENCH_OPS ?? 10_000)
const CALLERS = Number(process.env.REDIS_BENCH_CALLERS ?? 50)
const PREFIX = '{tgbench}'
const producer: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1500, connectTimeout: 1000 }

const single = await RedisProcess.start(['--appendfsync', 'everysec'])
const cluster = await RedisCluster.start()

interface Variant { name: string, server: () => Promise<RedisProcess>, connect: () => RedisClient }
const clusterNodes = () => cluster.url.replace('redis+cluster://', '').split(',').map(hp => ({ host: hp.split(':')[0]!, port: Number(hp.split(':')[1]) }))
const clusterClient = (opts: { enableAutoPipelining?: boolean, noDelay?: boolean } = {}) => new Cluster(clusterNodes(), {
  redisOptions: { maxRetriesPerRequest: 1, commandTimeout: 1500, noDelay: opts.noDelay }, enableOfflineQueue: false, scaleReads: 'master', enableAutoPipelining: opts.enableAutoPipelining
})
const variants: Variant[] = [
  { name: 'one server, plain ioredis', server: async () => single, connect: () => new Redis(single.url, producer) },
  { name: 'one server, Tollgate producer (corked writes)', server: async () => single, connect: () => createRedis(single.url, 'producer') },
  { name: 'one server, enableAutoPipelining', server: async () => single, connect: () => new Redis(single.url, { ...producer, enableAutoPipelining: true }) },
  { name: 'one server, noDelay: false (Nagle)', server: async () => single, connect: () => new Redis(single.url, { ...producer, noDelay: false }) },
  { name: 'cluster, plain ioredis Cluster', server: () => cluster.masterOf(PREFIX), connect: () => clusterClient() },
  { name: 'cluster, enableAutoPipelining', server: () => cluster.masterOf(PREFIX), connect: () => clusterClient({ enableAutoPipelining: true }) },
  { name: 'cluster, noDelay: false (Nagle)', server: () => cluster.masterOf(PREFIX), connect: () => clusterClient({ noDelay: false }) }
]

/** User + system CPU of a process so far, in microseconds (clock ticks of 10 ms). */
function cpuOf (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

async function measure (client: RedisClient, server: RedisProcess, op: (i: number) => Promise<unknown>) {
  const cpu0 = process.cpuUsage()
  const server0 = cpuOf(server.proc!.pid!)
  const started = process.hrtime.bigint()
  let next = 0
  const latencies: number[] = []
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (next < OPS) {
      const t0 = process.hrtime.bigint()
      await op(next++)
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
  }))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpu0)
  latencies.sort((a, b) => a - b)
  return {
    rate: OPS / seconds,
    clientUs: (cpu.user + cpu.system) / OPS,
    serverUs: (cpuOf(server.proc!.pid!) - server0) / OPS,
    p99: latencies[Math.floor(latencies.length * 0.99)]!
  }
}

const payload = { event: { id: 'evt', type: 'customer.subscription.updated', data: { object: { blob: 'x'.repeat(3500) } } }, receivedAt: 0 }
const results = new Map<string, Array<{ kind: string, rate: number, clientUs: number, serverUs: number, p99: number }>>()
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      const client = v.connect()
      client.on('error', () => {})
      await waitReady(client, 20_000)
      const server = await v.server()
      const queue = new Queue(`bench-${round}`, { connection: client, prefix: PREFIX })
      await queue.waitUntilReady()
      const adds = await measure(client, server, i => queue.add('e', payload, { jobId: `e${i}`, removeOnComplete: true }))
      // The limiter's count is a script as @fastify/rate-limit's is (INCR, PEXPIRE on the first).
      client.defineCommand('countHit', { numberOfKeys: 1, lua: "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n" })
      const countHit = (client as unknown as { countHit: (key: string, ms: number) => Promise<number> }).countHit.bind(client)
      const reads = await measure(client, server, async i => {
        await Promise.all([countHit(`${PREFIX}:ratelimit:k${i % 10}`, 60_000), client.mget(`${PREFIX}:entitlements:u${i % 1000}`, `${PREFIX}:entitlements-gen:u${i % 1000}`)])
      })
      await queue.obliterate({ force: true })
      await queue.close()
      client.disconnect()
      results.set(v.name, [...(results.get(v.name) ?? []), { kind: 'add', ...adds }, { kind: 'read', ...reads }])
    }
  }
} finally {
  await Promise.all([single.destroy(), cluster.destroy()])
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`\n${ROUNDS} rounds of ${OPS} operations, ${CALLERS} concurrent callers; medians`)
console.log('| connection | adds/s | client µs/add | redis µs/add | add p99 ms | reads/s | client µs/read | redis µs/read | read p99 ms |\n|---|---|---|---|---|---|---|---|---|')
for (const [name, rows] of results) {
  const of = (kind: string, k: 'rate' | 'clientUs' | 'serverUs' | 'p99', digits = 0) => median(rows.filter(r => r.kind === kind).map(r => r[k])).toFixed(digits)
  console.log(`| ${name} | ${of('add', 'rate')} | ${of('add', 'clientUs')} | ${of('add', 'serverUs')} | ${of('add', 'p99', 1)} | ${of('read', 'rate')} | ${of('read', 'clientUs')} | ${of('read', 'serverUs')} | ${of('read', 'p99', 1)} |`)
}
