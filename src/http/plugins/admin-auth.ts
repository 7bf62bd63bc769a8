import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest hook for `/admin` routes: `Authorization: Bearer <ADMIN_TOKEN>` (scripts) or HTTP
     * basic auth with the token as password and any user name (browsers, the queue dashboard).
     * Product API keys never pass it.
     */
    requireAdmin: onRequestAsyncHookHandler
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** The secret a request presents: the bearer token, or the password of basic auth. */
function presented (header: string | undefined): string | null {
  const bearer = /^Bearer ([^\s]{1,512})$/i.exec(header ?? '')
  if (bearer) return bearer[1]!
  const basic = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header ?? '')
  if (!basic) return null
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? null : decoded.slice(colon + 1)
}

/**
 * Compared as SHA-256 digests, as the API keys are: equal lengths whatever is sent, so the
 * comparison time says nothing about the token. A refusal names the basic realm so that a browser
 * opening `/admin/queues` prompts for the token.
 */
export default fp(async function adminAuth (app: FastifyInstance, opts: { token: string }) {
  const expected = digest(opts.token)
  app.decorate('requireAdmin', async function requireAdmin (req: FastifyRequest, reply: FastifyReply) {
    const given = presented(req.headers.authorization)
    if (given !== null && timingSafeEqual(digest(given), expected)) return
    // Answered here rather than thrown: the queue dashboard installs its own error handler.
    return reply.code(401)
      .header('www-authenticate', 'Basic realm="Tollgate admin", charset="UTF-8"')
      .send({ error: 'unauthorized', message: 'Admin routes need Authorization: Bearer <ADMIN_TOKEN> (or basic auth with the token as password)' })
  })
}, { name: 'admin-auth' })
