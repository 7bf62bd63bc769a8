import { mkdtempSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { NO_EVENT_ENTITLEMENT, productEvent } from '../../src/billing/product-events.js'
import { newSecret, syncConfigEndpoints } from '../../src/db/product-endpoints-repo.js'
import { saveProductEvents } from '../../src/db/product-events-repo.js'
import { productDeliveries } from '../../src/db/schema.js'
import { queueHeadsOf } from '../../src/queue/product-event-heads.js'
import { startWorkers } from '../../src/queue/workers.js'
import { waitFor } from '../helpers/env.js'
import { startReceiver } from '../helpers/product-receiver.js'
import { spawnWorker } from '../helpers/worker-process.js'
import { report } from './kit.js'

// A worker SIGKILLed after the product's endpoint accepted an event but before the delivery was
// recorded: the job stalls, another worker takes it, and the event is sent again with the same
// webhook-id (at-least-once; the product deduplicates on it). None is lost, the user's order holds.

// Opt-in with the rest of the slow part: TOLLGATE_FAULTS=all (npm run test:faults).
if (process.env.TOLLGATE_FAULTS !== 'all') t.plan(0, 'opt-in: TOLLGATE_FAULTS=all (npm run test:faults)')
else t.setTimeout(120_000)

if (process.env.TOLLGATE_FAULTS === 'all') t.test('SIGKILL of the delivering worker: delivered again with the same webhook-id, none lost, in order', async t => {
  const secret = newSecret()
  const receiver = await startReceiver(t, secret)
  const faultDir = mkdtempSync(join(tmpdir(), 'tollgate-pe-'))
  const env = { PRODUCT_WEBHOOK_URL: receiver.url, PRODUCT_WEBHOOK_SECRET: secret, PRODUCT_WEBHOOK_RETRY_BASE_MS: '50', WORKER_QUEUES: 'product-events', METRICS_PORT: '0' }
  const paused = await spawnWorker(t, { ...env, TOLLGATE_FAULT_PAUSE: 'after-product-send', TOLLGATE_FAULT_DIR: faultDir })
  const { deps } = paused
  await syncConfigEndpoints(deps.db, [receiver.url], [secret])
  const refs = await deps.db.transaction(tx => saveProductEvents(tx, [1, 2, 3].map(i => productEvent('entitlement.updated', 'u_kill', NO_EVENT_ENTITLEMENT, 1_790_000_000 + i))))
  await queueHeadsOf({ db: deps.db, queue: deps.queues.productEvents, config: { PRODUCT_WEBHOOK_RETRY_BASE_MS: 50 } }, ['u_kill'])

  const pauseFile = join(faultDir, 'after-product-send')
  await waitFor(() => existsSync(pauseFile), 'the worker stopped after the endpoint accepted', 60_000)
  t.equal(readFileSync(pauseFile, 'utf8').trim(), refs[0]!.id, 'it stopped on the user\'s first event')
  t.equal(receiver.delivered().length, 1, 'the endpoint has it once')
  paused.child.kill('SIGKILL')
  await new Promise(resolve => paused.child.once('exit', resolve))

  // The stalled job is taken over once the dead worker's lock expires.
  const rescuer = startWorkers(deps, ['product-events'], pino({ level: 'silent' }), { stalledInterval: 1000, lockDuration: 5000 })
  t.teardown(() => rescuer.close())
  await waitFor(async () => (await deps.db.select().from(productDeliveries)).every(d => d.status === 'delivered'), 'every event delivered', 90_000)
  const ids = receiver.delivered().map(r => r.webhookId)
  t.same(ids, [refs[0]!.id, refs[0]!.id, refs[1]!.id, refs[2]!.id].map(id => `msg_${id}`), 'the first again with the same webhook-id, then the rest in order')
  t.same(receiver.rejected, [])
  const distinct = new Set(ids)
  report(t, {
    scenario: 'product event delivery: worker SIGKILL after-product-send',
    sent: refs.length,
    deliveries: receiver.received.length,
    acknowledged: distinct.size,
    applied: (await deps.db.select().from(productDeliveries)).filter(d => d.status === 'delivered').length,
    lost: refs.filter(r => !distinct.has(`msg_${r.id}`)).length,
    duplicated: ids.length - distinct.size,
    unexpected: receiver.rejected.length,
    emailsExpected: 0,
    emailsSent: 0,
    notes: 'columns count product events: sent = written, acknowledged = distinct webhook-ids accepted; the one in flight when killed sent again with its webhook-id'
  }, { duplicated: 1 })
})
