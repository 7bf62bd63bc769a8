import type { AfterCommit, ApplyEventDeps } from '../billing/use-cases/apply-stripe-event.js'
import { invalidateEntitlementsOf } from '../billing/use-cases/read-entitlements.js'
import type { Deps } from '../deps.js'
import { queueOutboxSend } from './processors/outbox-sweep.js'
import { queueHeadsOf } from './product-event-heads.js'

/** The after-commit work of applying events, carried by Redis: cache invalidation and jobs (jobIds dedupe). */
export function createAfterCommit (deps: Pick<Deps, 'db' | 'redis' | 'queues' | 'config'>): AfterCommit {
  return {
    entitlementsChanged: userIds => invalidateEntitlementsOf(deps.redis, deps.config.QUEUE_PREFIX, userIds),
    emailsWritten: async refs => { await Promise.all(refs.map(ref => queueOutboxSend(deps.queues.email, ref))) },
    pricesChanged: async events => {
      await Promise.all(events.map(e => deps.queues.prices.add('refresh', { reason: e.type }, { jobId: `refresh-${e.id}` })))
    },
    productEventsWritten: async userIds => { await queueHeadsOf({ db: deps.db, queue: deps.queues.productEvents, config: deps.config }, userIds) }
  }
}

/** What applying events needs, from the process's shared deps (workers, the checkout route, an operator's sync). */
export function applyDepsOf (deps: Pick<Deps, 'db' | 'stripe' | 'catalogue' | 'redis' | 'queues' | 'config'>): ApplyEventDeps {
  return { db: deps.db, stripe: deps.stripe, catalogue: deps.catalogue, graceDays: deps.config.PAST_DUE_GRACE_DAYS, afterCommit: createAfterCommit(deps) }
}
