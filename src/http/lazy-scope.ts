import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'

/** Builds the routes that live under the prefix, on the inner instance it is given. */
export type ScopeBuilder = (inner: FastifyInstance) => Promise<void>

// Hop-by-hop or recomputed on the way out: the outer reply sets its own.
const DROPPED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date'])

/**
 * Serves every request under `prefix` (the prefix itself and any path below it) from a second Fastify
 * instance that is built, by `load`, on the first such request. For an operator's page (the queue
 * dashboard, the OpenAPI UI) whose packages are needed by nobody else: a process that never serves
 * the page never loads them. The outer scope's hooks (authentication) run before the request is
 * handed over; the inner instance never listens, it answers through `inject`.
 */
export function lazyScope (app: FastifyInstance, prefix: string, load: () => Promise<ScopeBuilder>) {
  let inner: Promise<FastifyInstance> | undefined
  const build = async () => {
    // The outer instance has logged the request already.
    const scope = Fastify({ loggerInstance: app.log, logController: new LogController({ disableRequestLogging: true }), routerOptions: { maxParamLength: 256 } })
    await (await load())(scope)
    await scope.ready()
    return scope
  }
  const instance = () => {
    // A failed build is not kept: the next request tries again.
    inner ??= build().catch(err => { inner = undefined; throw err })
    return inner
  }
  app.addHook('onClose', async () => { if (inner) await (await inner.catch(() => undefined))?.close() })

  async function forward (req: FastifyRequest, reply: FastifyReply) {
    const res = await (await instance()).inject({
      method: req.method as 'GET',
      url: req.url,
      headers: req.headers,
      payload: req.body === undefined || req.body === null ? undefined : typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body)
    })
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !DROPPED_HEADERS.has(name)) reply.header(name, value)
    }
    return reply.code(res.statusCode).send(res.rawPayload)
  }
  const schema = { hide: true }
  app.all(prefix, { schema }, forward)
  app.all(`${prefix}/*`, { schema }, forward)
}
