import type { Job } from 'bullmq'
import type { Deps } from '../../deps.js'
import { stripeEvents } from '../../db/schema.js'
import type { StripeEventJob } from '../policy.js'

/** Records each event once in `stripe_events`; applying events to billing state builds on this claim. */
export function createStripeEventProcessor (deps: Pick<Deps, 'db'>) {
  return async function processStripeEvent (job: Job<StripeEventJob>) {
    const { event } = job.data
    const rows = await deps.db.insert(stripeEvents).values({
      eventId: event.id,
      type: event.type,
      created: event.created,
      receivedAt: new Date(job.data.receivedAt),
      processedAt: new Date(),
      outcome: 'ignored',
      payload: event
    }).onConflictDoNothing().returning({ eventId: stripeEvents.eventId })
    return { outcome: rows.length ? 'ignored' : 'duplicate' }
  }
}
