import { Worker } from 'bullmq'
import postgres from 'postgres'
import { createRedis } from '../../../src/queue/connections.js'
import { QUEUES, type StripeEventJob } from '../../../src/queue/policy.js'

/**
 * The apply baseline: a BullMQ worker on the same queue, connection role and concurrency as
 * Tollgate's stripe-events worker (APPLY_BATCH_SIZE jobs at once), whose whole job is one Postgres
 * upsert of the event, with a connection per job in flight (Tollgate needs fewer: it commits the jobs
 * it holds together).
 */
const env = process.env
const concurrency = Number(env.APPLY_BATCH_SIZE ?? 32)
const sql = postgres(env.DATABASE_URL!, { max: concurrency + 2, onnotice: () => {} })
const worker = new Worker<StripeEventJob>(QUEUES.stripeEvents, async (job) => {
  const { event, receivedAt } = job.data
  await sql`insert into stripe_events (event_id, type, created, received_at, processed_at, outcome, payload)
    values (${event.id}, ${event.type}, ${event.created}, ${new Date(receivedAt)}, now(), 'applied', ${sql.json(event as never)})
    on conflict (event_id) do update set processed_at = now()`
}, { connection: createRedis(env.REDIS_URL!, 'worker'), prefix: env.QUEUE_PREFIX!, concurrency })
worker.on('error', () => {})
process.once('SIGTERM', async () => { await worker.close(); await sql.end({ timeout: 2 }); process.exit(0) })
