import Fastify from 'fastify'
import postgres from 'postgres'
import { randomUUID } from 'node:crypto'
import { answerOf } from '../../../src/billing/usage.js'
import { createDb } from '../../../src/db/client.js'
import { createRedis } from '../../../src/queue/connections.js'
import { countUsage } from '../../../src/queue/usage-counter.js'
import { verifyStripeEvent } from '../../../src/stripe/webhook.js'

/**
 * The baselines of the ingest and read benchmarks, in a process of their own like the api:
 * - POST /bare/webhook: Fastify parses the JSON body and answers 200, nothing else.
 * - POST /naive/webhook: verifies the signature over the raw bytes and inserts the event into
 *   Postgres inside the request (the design Tollgate avoids), then answers 200.
 * - GET /bare/entitlements/:user_id: answers a fixed entitlement-shaped object.
 * - POST /bare/usage/consume: parses the JSON body and answers a fixed usage-shaped object.
 * - POST /floor/usage/consume: parses the JSON body, runs Tollgate's counting script for the body's
 *   user on a connection like the api's, and answers what it counted: the least a consume must do
 *   (no API key, limiter, entitlement read, validation or metrics).
 */
const env = process.env
const sql = postgres(env.DATABASE_URL!, { max: 10, onnotice: () => {} })
const secrets = [env.STRIPE_WEBHOOK_SECRET!]
const app = Fastify({ logger: false })

app.post('/bare/webhook', async (req) => {
  const body = req.body as { id?: unknown }
  return { status: 'received', ok: typeof body.id === 'string' }
})

await app.register(async (scope) => {
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
  scope.post('/naive/webhook', async (req, reply) => {
    let event
    try {
      event = verifyStripeEvent(req.body as Buffer, req.headers['stripe-signature'] as string | undefined, secrets, 300)
    } catch {
      return reply.code(400).send({ error: 'invalid_signature' })
    }
    await sql`insert into stripe_events (event_id, type, created, outcome, payload)
      values (${event.id}, ${event.type}, ${event.created}, 'applied', ${sql.json(event as never)})
      on conflict (event_id) do nothing`
    return { status: 'received' }
  })
})

const entitlement = {
  plan_id: 'pro', status: 'active', access: true,
  features: { api: true, webhooks: true, priority_support: false }, limits: { requests_per_month: 100000, seats: 5 },
  current_period_end: 1790000000, cancel_at_period_end: false
}
app.get('/bare/entitlements/:user_id', async (req) => ({ user_id: (req.params as { user_id: string }).user_id, ...entitlement }))
app.post('/bare/usage/consume', async (req) => ({
  allowed: true, metric: (req.body as { metric: string }).metric, used: 1, limit: 250_000, remaining: 249_999, resets_at: 1_790_000_000
}))
const counter = createRedis(env.REDIS_URL!, 'producer', { connectionName: 'bench:floor', autoResendUnfulfilledCommands: false })
const { db, close: closeDb } = createDb(env.DATABASE_URL!, { max: 2 })
const FLOOR_WINDOW = 1_000_000_000
app.post('/floor/usage/consume', async (req) => {
  const { user_id: userId, metric } = req.body as { user_id: string, metric: string }
  const counted = await countUsage({ redis: counter, db, prefix: env.QUEUE_PREFIX! }, {
    mode: 'consume', userId, metric, windowStart: FLOOR_WINDOW, resetsAt: FLOOR_WINDOW + 30 * 86_400, quantity: 1, limit: 250_000, hard: false, entryId: randomUUID(), counterTtl: 86_400, at: Date.now()
  })
  return answerOf(metric, counted)
})
app.get('/ready', async () => ({ ok: true }))

process.once('SIGTERM', async () => { await app.close(); counter.disconnect(); await closeDb(); await sql.end({ timeout: 2 }); process.exit(0) })
await app.listen({ port: Number(env.PORT), host: '127.0.0.1' })
