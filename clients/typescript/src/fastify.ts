import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Tollgate, Verdict } from './entitlements.js'
import { refusal } from './refusal.js'

export interface GuardOptions {
  /** Who is asking: your own authentication has found the user by now. */
  userId: (request: FastifyRequest) => string | undefined | Promise<string | undefined>
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Tollgate's verdict for this request, once requireAccess/requireFeature ran. */
    tollgate?: Verdict
  }
}

function guard (tollgate: Tollgate, options: GuardOptions, feature?: string) {
  return async function tollgateGuard (request: FastifyRequest, reply: FastifyReply) {
    const userId = await options.userId(request)
    const verdict = userId ? await tollgate.check(userId, feature) : null
    if (verdict) request.tollgate = verdict
    if (verdict?.allowed) return
    const { status, body } = refusal(verdict)
    return await reply.code(status).send(body)
  }
}

/** A preHandler that lets a request through only while its user has access. */
export const requireAccess = (tollgate: Tollgate, options: GuardOptions) => guard(tollgate, options)

/** A preHandler that lets a request through only while its user's plan includes `feature`. */
export const requireFeature = (tollgate: Tollgate, feature: string, options: GuardOptions) => guard(tollgate, options, feature)
