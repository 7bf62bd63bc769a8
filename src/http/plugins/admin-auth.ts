import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { bearerToken, secretMatcher } from '../secret-match.js'

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

/** The secret a request presents: the bearer token, or the password of basic auth. */
function presented (header: string | undefined): string | null {
  const bearer = bearerToken(header)
  if (bearer) return bearer
  const basic = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header ?? '')
  if (!basic) return null
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? null : decoded.slice(colon + 1)
}

/**
 * The token is compared in constant time (secret-match.ts). A refusal names the basic realm so
 * that a browser opening `/admin/queues` prompts for the token.
 */
export default fp(async function adminAuth (app: FastifyInstance, opts: { token: string }) {
  const matches = secretMatcher(opts.token)
  app.decorate('requireAdmin', async function requireAdmin (req: FastifyRequest, reply: FastifyReply) {
    if (matches(presented(req.headers.authorization))) return
    // Answered here rather than thrown: the queue dashboard installs its own error handler.
    return reply.code(401)
      .header('www-authenticate', 'Basic realm="Tollgate admin", charset="UTF-8"')
      .send({ error: 'unauthorized', message: 'Admin routes need Authorization: Bearer <ADMIN_TOKEN> (or basic auth with the token as password)' })
  })
}, { name: 'admin-auth' })
