import { UnrecoverableError, type Job } from 'bullmq'
import Stripe from 'stripe'
import { createApplyStripeEvents, UnappliableEventError, type ApplyResult } from '../../billing/use-cases/apply-stripe-event.js'
import { recordFailedEvent } from '../../db/event-claims-repo.js'
import { applyDepsOf } from '../apply-ports.js'
import type { Deps } from '../../deps.js'
import { groupCommit } from '../group-commit.js'
import type { StripeEventJob } from '../policy.js'

/**
 * Errors that the same job cannot outgrow by retrying: Stripe refusing the request itself (an
 * object that does not exist, a bad parameter), an event whose Stripe data Tollgate cannot use (a
 * subscription naming no user) and Postgres refusing the data (a constraint). They
 * go straight to the failed set, the dead-letter queue, to be replayed once someone has looked.
 * Network trouble, Stripe 5xx/429/409 and lost database connections retry with backoff.
 */
function isPermanent (err: unknown): boolean {
  if (err instanceof UnrecoverableError || err instanceof UnappliableEventError) return true
  if (err instanceof Stripe.errors.StripeInvalidRequestError) return true
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)
}

/**
 * Applies each event to billing state once (src/billing/use-cases/apply-stripe-event.ts); the jobs a
 * worker holds at once are applied together, in one transaction, and each job gets its own outcome.
 */
export function createStripeEventProcessor (deps: Pick<Deps, 'db' | 'stripe' | 'catalogue' | 'queues' | 'redis' | 'config'>) {
  const apply = groupCommit(createApplyStripeEvents(applyDepsOf(deps)))
  return async function processStripeEvent (job: Job<StripeEventJob>): Promise<ApplyResult> {
    try {
      return await apply(job.data)
    } catch (err) {
      const permanent = isPermanent(err)
      const message = (err as Error).message
      if (permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        const { event } = job.data
        // Best effort: if Postgres is what failed, the job's own error matters more than the audit row.
        await recordFailedEvent(deps.db, {
          id: event.id, type: event.type, created: event.created, receivedAt: new Date(job.data.receivedAt), payload: event
        }, message).catch(() => {})
      }
      throw permanent && !(err instanceof UnrecoverableError) ? new UnrecoverableError(message) : err
    }
  }
}
