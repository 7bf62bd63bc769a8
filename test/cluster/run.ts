import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { RedisCluster } from '../helpers/redis-cluster.js'

/**
 * `npm run test:cluster`: the test groups that touch the shared Redis, run again against a Redis
 * Cluster of three masters and three replicas (TEST_REDIS_URL names it). Each test file's prefix has
 * a hash tag of its own, so a script, MULTI or multi-key command whose keys are not all under the
 * prefix fails here with CROSSSLOT. Left out:
 * - the files that start Redis servers of their own (to stop, pause or count the reads of one
 *   server, or a cluster to kill a master of; they run in `npm test`) and the slow-client test;
 * - the files that run BullMQ workers inside the test process. On a cluster such a worker sometimes
 *   leaves a connection open after it closed (BullMQ reconnects a cluster's blocking connection when
 *   its pending BZPOPMIN fails during close), and the test process then never exits: tap failed a
 *   third of the runs on a timeout after every test had passed. The same paths run here in worker
 *   processes (the journey, the duplicates, the worker kills, the attacks), which exit at the end of
 *   their shutdown whatever is left open. The files with in-process workers that do run here call
 *   exitAfterTests (test/helpers/env.ts), which ends the process that way once every test has ended.
 */
const GROUPS = ['test/billing/use-cases', 'test/http', 'test/queue', 'test/metrics', 'test/e2e',
  'test/faults/duplicates.test.ts', 'test/faults/worker-kill.test.ts', 'test/faults/attacks.test.ts']
const LEFT_OUT = new Set([
  'test/http/entitlements-reads.test.ts',
  'test/http/webhook-redis-down.test.ts',
  'test/http/slow-client.test.ts',
  'test/queue/write-coalescing.test.ts',
  'test/queue/noeviction.test.ts',
  'test/queue/cluster.test.ts',
  // In-process BullMQ workers (above).
  'test/metrics/metrics.test.ts',
  'test/http/admin/events.test.ts',
  'test/http/admin/users.test.ts',
  'test/http/subscriptions.test.ts',
  'test/queue/reconcile.test.ts',
  'test/queue/lifecycle-e2e.test.ts',
  'test/queue/prices-worker.test.ts',
  'test/queue/subscription-without-user.test.ts',
  'test/queue/worker-records.test.ts',
  'test/queue/outbox-sweep.test.ts'
])

const testFiles = (path: string): string[] => path.endsWith('.test.ts')
  ? [path]
  : readdirSync(path, { recursive: true, encoding: 'utf8' }).filter(f => f.endsWith('.test.ts')).map(f => `${path}/${f}`)
const files = GROUPS.flatMap(testFiles).filter(f => !LEFT_OUT.has(f)).sort()
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
