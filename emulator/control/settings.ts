import { badRequest } from '../wire/errors.js'
import type { Ctx, BillingSettings } from '../context.js'

const FATES = ['cancel', 'unpaid', 'past_due']

/** `POST /_emulator/settings`: the account's retry schedule and what happens when retries run out. */
export function updateSettings (ctx: Ctx, body: Record<string, unknown>): BillingSettings {
  const next = { ...ctx.settings }
  if (body.retry_schedule_days !== undefined) {
    const days = body.retry_schedule_days
    if (!Array.isArray(days) || days.some((d) => typeof d !== 'number' || !(d > 0))) throw badRequest('retry_schedule_days must be an array of positive numbers of days', 'retry_schedule_days')
    next.retryScheduleDays = days as number[]
  }
  if (body.retries_exhausted !== undefined) {
    if (!FATES.includes(String(body.retries_exhausted))) throw badRequest('retries_exhausted must be "cancel", "unpaid" or "past_due"', 'retries_exhausted')
    next.retriesExhausted = body.retries_exhausted as BillingSettings['retriesExhausted']
  }
  for (const [param, field] of [['test_clock_advance_ms', 'testClockAdvanceMs'], ['async_settle_ms', 'asyncSettleMs']] as const) {
    if (body[param] === undefined) continue
    const ms = Number(body[param])
    if (!(ms >= 0)) throw badRequest(`${param} must be a non-negative number of milliseconds`, param)
    next[field] = ms
  }
  ctx.settings = next
  return next
}
