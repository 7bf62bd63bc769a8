import { Worker } from 'bullmq'
import postgres from 'postgres'
import { createRedis } from '../../../src/queue/connections.js'
import { QUEUES, type StripeEventJob } from '../../../src/queue/policy.js'

/**
 * The apply baseline: a BullMQ worker on the same queue, connection role, concurrency and pool size
 * as Tollgate's, whose whole job is one Postgres upsert of the event.
 */
const env = process.env
const concurrency = Number(env.WORKER_CONCURRENCY ?? 8)
const sql = postgres(env.DATABASE_URL!, { max: concurrency + 2, onnotice: () => {} })
const worker = new Worker<StripeEventJob>(QUEUES.stripeEvents, async (job) => {
  const { event, receivedAt } = job.data
  await sql`insert into stripe_events (event_id, type, created, received_at, processed_at, outcome, payload)
    values (${event.id}, ${event.type}, ${event.created}, ${new Date(receivedAt)}, now(), 'applied', ${sql.json(event as never)})
    on conflict (event_id) do update set processed_at = now()`
}, { connection: createRedis(env.REDIS_URL!, 'worker'), prefix: env.QUEUE_PREFIX!, concurrency })
worker.on('error', () => {})
process.once('SIGTERM', async () => { await worker.close(); await sql.end({ timeout: 2 }); process.exit(0) })
