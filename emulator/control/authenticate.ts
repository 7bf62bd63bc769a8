import { authenticate } from '../billing/intents.js'
import { afterIntent } from '../billing/intent-results.js'
import { authenticateSetup } from '../billing/setup-intents.js'
import { badRequest, missing } from '../wire/errors.js'
import type { Ctx } from '../context.js'

/** The customer passes (`succeeded`) or fails the 3-D Secure challenge of a PaymentIntent or SetupIntent. */
export function authenticateIntent (ctx: Ctx, id: string, outcome: unknown): unknown {
  if (outcome !== 'succeeded' && outcome !== 'failed') throw badRequest('outcome must be "succeeded" or "failed"', 'outcome')
  const pi = ctx.store.get('payment_intents', id)
  const si = pi ? undefined : ctx.store.get('setup_intents', id)
  const intent = pi ?? si
  if (!intent) throw missing('payment_intent', id)
  if (intent.status !== 'requires_action') throw badRequest(`${id} is ${intent.status}, not requires_action.`, 'id')
  if (si) {
    authenticateSetup(ctx, si, outcome === 'succeeded')
    return si
  }
  afterIntent(ctx, pi!, authenticate(ctx, pi!, outcome === 'succeeded'))
  return pi
}
