import { newId, randomToken } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { instrumentOf } from './payment-methods.js'
import { intentFields } from './intents.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export type SetupOutcome = 'succeeded' | 'requires_action' | 'requires_payment_method'

export function createSetupIntent (ctx: Ctx, input: Obj, request?: RequestInfo): Obj {
  const id = newId('seti')
  const si = fromTemplate(ctx.templates, 'setupIntent', {
    ...intentFields(ctx, id, input),
    usage: input.usage ?? 'off_session'
  })
  ctx.store.put('setup_intents', si)
  ctx.emit('setup_intent.created', si, { request })
  return si
}

function succeed (ctx: Ctx, si: Obj, pm: Obj, request?: RequestInfo): SetupOutcome {
  Object.assign(si, { status: 'succeeded', next_action: null, last_setup_error: null, latest_attempt: `setatt_${randomToken(24)}` })
  if (si.customer && pm.customer !== si.customer) {
    pm.customer = si.customer
    ctx.emit('payment_method.attached', pm, { request })
  }
  ctx.emit('setup_intent.succeeded', si, { request })
  return 'succeeded'
}

function fail (ctx: Ctx, si: Obj, pm: Obj, error: { code: string, decline_code?: string, message: string }, request?: RequestInfo): SetupOutcome {
  Object.assign(si, {
    status: 'requires_payment_method',
    next_action: null,
    last_setup_error: { ...error, doc_url: `https://stripe.com/docs/error-codes/${error.code.replace(/_/g, '-')}`, payment_method: structuredClone(pm), type: 'card_error' }
  })
  ctx.emit('setup_intent.setup_failed', si, { request })
  return 'requires_payment_method'
}

/** Confirms a SetupIntent: the card is checked (declines fail, 3-D Secure cards ask for it) and attached to the customer. */
export function confirmSetupIntent (ctx: Ctx, si: Obj, pm: Obj, request?: RequestInfo): SetupOutcome {
  si.payment_method = pm.id
  const instrument = instrumentOf(ctx, pm)
  const behaviour = instrument?.kind === 'card' ? instrument.card.setup : 'succeeds'
  if (typeof behaviour === 'object') return fail(ctx, si, pm, behaviour, request)
  if (behaviour === 'authenticates' && !ctx.store.internal(si.id).authenticated && !ctx.store.internal(pm.id).authenticated) {
    Object.assign(si, {
      status: 'requires_action',
      next_action: { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: `${ctx.baseUrl()}/authenticate/${si.id}` } }
    })
    ctx.emit('setup_intent.requires_action', si, { request })
    return 'requires_action'
  }
  return succeed(ctx, si, pm, request)
}

/** The customer completes (or fails) the 3-D Secure challenge of a SetupIntent. */
export function authenticateSetup (ctx: Ctx, si: Obj, ok: boolean, request?: RequestInfo): SetupOutcome {
  const pm = ctx.store.get('payment_methods', si.payment_method)!
  if (!ok) {
    return fail(ctx, si, pm, { code: 'setup_intent_authentication_failure', message: 'The latest attempt to set up the payment method has failed because authentication failed.' }, request)
  }
  ctx.store.internal(si.id).authenticated = true
  return confirmSetupIntent(ctx, si, pm, request)
}

export function cancelSetupIntent (ctx: Ctx, si: Obj, reason: string | null, request?: RequestInfo): Obj {
  Object.assign(si, { status: 'canceled', cancellation_reason: reason, next_action: null })
  ctx.emit('setup_intent.canceled', si, { request })
  return si
}
