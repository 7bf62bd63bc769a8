import type { FastifyInstance } from 'fastify'
import { sql } from 'drizzle-orm'
import { Type } from 'typebox'
import { errorLine } from '../../db/errors.js'
import type { Deps } from '../../deps.js'
import { pingRedis } from '../../queue/connections.js'
import { withTimeout } from '../../with-timeout.js'

const CHECK_TIMEOUT_MS = 1000

/** Null when the dependency answered, else why not, in one line. */
async function probe (fn: () => Promise<unknown>): Promise<string | null> {
  try {
    await withTimeout(fn(), CHECK_TIMEOUT_MS)
    return null
  } catch (err) {
    return errorLine(err)
  }
}

const Ready = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Object({ redis: Type.Boolean(), postgres: Type.Boolean() }),
  failing: Type.Array(Type.String()),
  reasons: Type.Record(Type.String(), Type.String(), { description: 'Why each failing dependency failed, one line each (e.g. `Postgres: database "tollgate" does not exist …`)' })
})

export default async function healthRoutes (app: FastifyInstance, { deps }: { deps: Deps }) {
  app.get('/health/live', {
    schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  // Logged when a reason appears or changes, not on every probe of an orchestrator polling the route.
  let lastReasons = ''
  app.get('/health/ready', {
    schema: { tags: ['health'], response: { 200: Ready, 503: Ready } }
  }, async (req, reply) => {
    const [redis, postgres] = await Promise.all([
      probe(() => pingRedis(deps.redis, deps.config.QUEUE_PREFIX)),
      probe(() => deps.db.execute(sql`select 1`))
    ])
    const reasons: Record<string, string> = { ...(redis && { redis }), ...(postgres && { postgres }) }
    const failing = Object.keys(reasons)
    const summary = JSON.stringify(reasons)
    if (summary !== lastReasons) {
      if (failing.length) req.log.error({ reasons }, `not ready: ${Object.values(reasons).join('; ')}`)
      else if (lastReasons) req.log.info('ready again')
      lastReasons = failing.length ? summary : ''
    }
    return reply.code(failing.length ? 503 : 200).send({
      status: failing.length ? 'unavailable' : 'ok',
      checks: { redis: !redis, postgres: !postgres },
      failing,
      reasons
    })
  })
}
