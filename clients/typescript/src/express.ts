import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { Tollgate, Verdict } from './entitlements.js'
import { refusal } from './refusal.js'

export interface GuardOptions {
  /** Who is asking: your own authentication has found the user by now. */
  userId: (request: Request) => string | undefined | Promise<string | undefined>
}

function guard (tollgate: Tollgate, options: GuardOptions, feature?: string): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    void (async () => {
      const userId = await options.userId(request)
      const verdict: Verdict | null = userId ? await tollgate.check(userId, feature) : null
      if (verdict) response.locals.tollgate = verdict
      if (verdict?.allowed) return next()
      const { status, body } = refusal(verdict)
      response.status(status).json(body)
    })().catch(next)
  }
}

/** Middleware that lets a request through only while its user has access; the verdict is in `res.locals.tollgate`. */
export const requireAccess = (tollgate: Tollgate, options: GuardOptions) => guard(tollgate, options)

/** Middleware that lets a request through only while its user's plan includes `feature`. */
export const requireFeature = (tollgate: Tollgate, feature: string, options: GuardOptions) => guard(tollgate, options, feature)
