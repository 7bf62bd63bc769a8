import { Socket } from 'node:net'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

/** How long a refused body may keep arriving after its answer before the socket is dropped. */
export const LINGER_MS = 5_000

/**
 * A body refused before it was read (over the limit by its Content-Length, or while it streamed)
 * is answered with `connection: close`, and Node then closes the socket while the client is still
 * sending. The kernel answers the bytes that keep coming with a reset, which can destroy the 413
 * before the client reads it: the client sees a broken connection instead of a clear error. So the
 * socket is closed in stages (RFC 9112 §9.6): the answer goes out, the rest of the body is read and
 * thrown away, and a client still sending after LINGER_MS is dropped. A client that stops on the
 * answer (curl does) closes first; one that sends the whole body keeps a usable connection.
 */
export default fp(async function lingeringClose (app: FastifyInstance) {
  // Callback hooks, not async ones: they run on every request and almost always do nothing.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (bodyStillArriving(req) && reply.getHeader('connection') === 'close') reply.removeHeader('connection')
    done(null, payload)
  })
  app.addHook('onResponse', (req, _reply, done) => {
    if (bodyStillArriving(req)) linger(req)
    done()
  })
}, { name: 'lingering-close' })

/** A request read from a socket (not injected by `app.inject`) whose body has not all arrived. */
function bodyStillArriving (req: FastifyRequest): boolean {
  return req.raw.complete === false && req.raw.socket instanceof Socket
}

/** Reads and discards the rest of the body; drops the socket if it has not all come within LINGER_MS. */
function linger (req: FastifyRequest): void {
  const socket = req.raw.socket
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  timer.unref()
  req.raw.once('end', () => clearTimeout(timer))
  socket.once('close', () => clearTimeout(timer))
  req.raw.resume()
}
