import type { FastifyInstance } from 'fastify'
import { sql } from 'drizzle-orm'
import { Type } from 'typebox'
import type { Deps } from '../../deps.js'
import { pingRedis } from '../../queue/connections.js'
import { withTimeout } from '../../with-timeout.js'

const CHECK_TIMEOUT_MS = 1000

async function probe (fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await withTimeout(fn(), CHECK_TIMEOUT_MS)
    return true
  } catch {
    return false
  }
}

const Ready = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Object({ redis: Type.Boolean(), postgres: Type.Boolean() }),
  failing: Type.Array(Type.String())
})

export default async function healthRoutes (app: FastifyInstance, { deps }: { deps: Deps }) {
  app.get('/health/live', {
    schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/health/ready', {
    schema: { tags: ['health'], response: { 200: Ready, 503: Ready } }
  }, async (_req, reply) => {
    const [redis, postgres] = await Promise.all([
      probe(() => pingRedis(deps.redis, deps.config.QUEUE_PREFIX)),
      probe(() => deps.db.execute(sql`select 1`))
    ])
    const failing = [!redis && 'redis', !postgres && 'postgres'].filter((x): x is string => Boolean(x))
    return reply.code(failing.length ? 503 : 200).send({ status: failing.length ? 'unavailable' : 'ok', checks: { redis, postgres }, failing })
  })
}
