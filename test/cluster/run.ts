import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { RedisCluster } from '../helpers/redis-cluster.js'

/**
 * `npm run test:cluster`: every test group that touches the shared Redis, run again against a Redis
 * Cluster of three masters and three replicas (TEST_REDIS_URL names it). Each test file's prefix has
 * a hash tag of its own, so a script, MULTI or multi-key command whose keys are not all under the
 * prefix fails here with CROSSSLOT. Left out: the files that start Redis servers of their own (to
 * stop, pause or count the reads of one server, or a cluster to kill a master of; they run in
 * `npm test`), the slow-client test (no Redis in it), and the files that touch no Redis.
 */
const GROUPS = ['test/billing/use-cases', 'test/http', 'test/queue', 'test/metrics', 'test/e2e',
  'test/faults/duplicates.test.ts', 'test/faults/worker-kill.test.ts', 'test/faults/attacks.test.ts']
const OWN_SERVERS = new Set([
  'test/http/entitlements-reads.test.ts',
  'test/http/webhook-redis-down.test.ts',
  'test/http/slow-client.test.ts',
  'test/queue/write-coalescing.test.ts',
  'test/queue/noeviction.test.ts',
  'test/queue/cluster.test.ts'
])

const testFiles = (path: string): string[] => path.endsWith('.test.ts')
  ? [path]
  : readdirSync(path, { recursive: true, encoding: 'utf8' }).filter(f => f.endsWith('.test.ts')).map(f => `${path}/${f}`)
const files = GROUPS.flatMap(testFiles).filter(f => !OWN_SERVERS.has(f)).sort()
const cluster = await RedisCluster.start()
let status = 1
try {
  console.log(`# Redis Cluster ${cluster.url}: ${files.length} test files`)
  const tap = spawn('npx', ['tap', ...process.argv.slice(2), ...files], { stdio: 'inherit', env: { ...process.env, TEST_REDIS_URL: cluster.url } })
  status = await new Promise<number>(resolve => tap.once('exit', code => resolve(code ?? 1)))
} finally {
  await cluster.destroy()
}
process.exit(status)
