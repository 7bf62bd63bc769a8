import { randomBytes } from 'node:crypto'
import type { RedisClient } from '../../queue/connections.js'
import { checkoutSessionOf } from '../../db/checkout-sessions-repo.js'
import type { Db } from '../../db/client.js'
import { AppError } from '../../errors.js'
import type { CheckoutStatus } from './checkout-status.js'

/** A success page polling every few hundred milliseconds gets Stripe read for its session this often at most. */
export const CHECKOUT_READ_EVERY_SECONDS = 3
const WAIT_STEP_MS = 50

export interface CheckoutThrottleDeps {
  db: Db
  redis: RedisClient
  prefix: string
  everySeconds?: number
}

/** What one read found, shared with the polls that come while it is fresh: an answer, or a 4xx (an unknown session). */
type Outcome = { answer: CheckoutStatus } | { refused: { status: number, code: string, message: string } }

/**
 * Wraps the checkout-status use case so that however often a session is polled, and by however many
 * api processes, Stripe is read for it at most once every few seconds. The first poll claims the read
 * in Redis (SET NX with the window as expiry) and stores what it found for the window; polls meanwhile
 * wait for that and answer the same. A session already provisioned is answered from Postgres without
 * a claim, so the moment the webhook has been applied every poll says so. `beforeStripeRead` runs
 * before a read (the shared Stripe budget) and may refuse it. If Redis cannot answer, each poll reads.
 */
export function throttleCheckoutStatus (deps: CheckoutThrottleDeps, checkoutStatus: (sessionId: string) => Promise<CheckoutStatus>) {
  const every = deps.everySeconds ?? CHECKOUT_READ_EVERY_SECONDS

  return async function throttledCheckoutStatus (sessionId: string, beforeStripeRead: () => Promise<void>): Promise<CheckoutStatus> {
    if ((await checkoutSessionOf(deps.db, sessionId))?.status === 'complete') return await checkoutStatus(sessionId)
    const key = `${deps.prefix}:checkout-read:${sessionId}`
    const read = async () => { await beforeStripeRead(); return await checkoutStatus(sessionId) }
    const claim = `pending:${randomBytes(6).toString('hex')}`
    for (;;) {
      let claimed: boolean
      let seen: string | null = null
      try {
        claimed = await deps.redis.set(key, claim, 'EX', every, 'NX') === 'OK'
        if (!claimed) seen = await deps.redis.get(key)
      } catch {
        return await read()
      }
      if (claimed) return await readAndShare(key, claim, read)
      if (seen && !seen.startsWith('pending:')) return settle(JSON.parse(seen) as Outcome)
      await new Promise(resolve => setTimeout(resolve, WAIT_STEP_MS))
    }
  }

  async function readAndShare (key: string, claim: string, read: () => Promise<CheckoutStatus>): Promise<CheckoutStatus> {
    let outcome: Outcome
    try {
      outcome = { answer: await read() }
    } catch (err) {
      // A refusal of the read itself (Stripe down, the budget spent) is not an answer: the next poll tries again.
      if (!(err instanceof AppError) || err.statusCode >= 500 || err.statusCode === 429) {
        await releaseClaim(deps.redis, key, claim).catch(() => {})
        throw err
      }
      outcome = { refused: { status: err.statusCode, code: err.code, message: err.message } }
    }
    await deps.redis.set(key, JSON.stringify(outcome), 'EX', every).catch(() => {})
    return settle(outcome)
  }
}

function settle (outcome: Outcome): CheckoutStatus {
  if ('answer' in outcome) return outcome.answer
  throw new AppError(outcome.refused.status, outcome.refused.code, outcome.refused.message)
}

const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

/** Drops the claim only if it is still this poll's (it may have expired and been taken by another). */
async function releaseClaim (redis: RedisClient, key: string, claim: string): Promise<void> {
  await redis.eval(RELEASE, 1, key, claim)
}
