import { fromTemplate } from '../templates.js'
import { addInterval } from './period.js'
import { itemQuantity } from './pricing.js'
import { badRequest, paramMissing } from '../wire/errors.js'
import { mergeMetadata, toInt, type Params } from '../wire/form.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

/** A price a phase item may take (the subscriptions' rule: recurring and active). */
export type PhasePrice = (id: string, param: string) => Obj

const ONE_OF = ['end_date', 'iterations', 'duration']

function phaseItems (ctx: Ctx, raw: unknown, param: string, priceOf: PhasePrice): Obj[] {
  const items: Params[] = Array.isArray(raw) ? raw : []
  if (items.length === 0) throw paramMissing(`${param}[items]`)
  return items.map((it, i) => {
    if (!it.price) throw paramMissing(`${param}[items][${i}][price]`)
    const price = priceOf(String(it.price), `${param}[items][${i}][price]`)
    const quantity = itemQuantity(price, it.quantity, `${param}[items][${i}][quantity]`)
    const item: Obj = { billing_thresholds: null, discounts: [], metadata: mergeMetadata({}, it.metadata), plan: price.id, price: price.id, quantity: quantity ?? 1, tax_rates: [] }
    if (price.recurring?.usage_type === 'metered') delete item.quantity
    return item
  })
}

/** When a phase that starts at `start` ends: its `end_date`, a number of its prices' intervals (`iterations`), a `duration`, or one interval. */
function phaseEnd (ctx: Ctx, raw: Params, start: number, items: Obj[], param: string, now: number): number {
  const given = ONE_OF.filter((k) => raw[k] !== undefined && raw[k] !== '')
  if (given.length > 1) throw badRequest('A phase takes only one of `end_date`, `iterations` and `duration`.', `${param}[${given[1]}]`)
  const recurring = ctx.store.get('prices', items[0]!.price)!.recurring
  let end: number
  if (raw.end_date !== undefined && raw.end_date !== '') {
    end = raw.end_date === 'now' ? now : toInt(raw.end_date)!
  } else if (raw.duration) {
    end = addInterval(start, String(raw.duration.interval), toInt(raw.duration.interval_count) ?? 1)
  } else {
    const iterations = toInt(raw.iterations) ?? 1
    if (iterations < 1) throw badRequest('`iterations` must be at least 1.', `${param}[iterations]`)
    end = addInterval(start, recurring.interval, recurring.interval_count * iterations)
  }
  if (!(end > start)) throw badRequest("A phase's end must be after its start.", `${param}[${given[0] ?? 'end_date'}]`)
  return end
}

/**
 * Phases from `phases[]` as create and update take them: each starts when the one before ends, the
 * first at `start` (an update may name it with `start_date`, which must then be that moment).
 */
export function buildPhases (ctx: Ctx, raw: unknown, start: number, now: number, priceOf: PhasePrice): Obj[] {
  const list: Params[] = Array.isArray(raw) ? raw : []
  if (list.length === 0) throw paramMissing('phases')
  let at = start
  return list.map((p, i) => {
    const param = `phases[${i}]`
    const named = p.start_date === undefined || p.start_date === 'now' ? undefined : toInt(p.start_date)
    if (named !== undefined && named !== at) {
      throw badRequest(i === 0 ? "The first phase must start when the schedule's current phase started (or starts)." : 'Phases must be contiguous: each starts when the one before it ends.', `${param}[start_date]`)
    }
    // A trial starts the subscription; later phases would change a running one's trial, which the emulator does not.
    if (i > 0 && p.trial_end !== undefined) throw badRequest('The emulator supports `trial_end` on the first phase only.', `${param}[trial_end]`)
    const items = phaseItems(ctx, p.items, param, priceOf)
    const currency = ctx.store.get('prices', items[0]!.price)!.currency
    if (items.some((it) => ctx.store.get('prices', it.price)!.currency !== currency)) throw badRequest('All prices of a phase must have the same currency.', `${param}[items]`)
    const end = phaseEnd(ctx, p, at, items, param, now)
    const phase = fromTemplate(ctx.templates, 'schedulePhase', {
      currency,
      description: p.description ?? null,
      end_date: end,
      items,
      metadata: mergeMetadata({}, p.metadata),
      proration_behavior: p.proration_behavior ?? 'create_prorations',
      start_date: at,
      trial_end: toInt(p.trial_end) ?? null
    })
    at = end
    return phase
  })
}

/** The phase running at `now` (null before the first starts or after the last ends). */
export function currentPhase (schedule: Obj, now: number): Obj | null {
  return schedule.phases.find((p: Obj) => p.start_date <= now && now < p.end_date) ?? null
}

/** The phase after `phase`, if any. */
export const nextPhase = (schedule: Obj, phase: Obj): Obj | null =>
  schedule.phases.find((p: Obj) => p.start_date === phase.end_date) ?? null

export const lastEnd = (schedule: Obj): number => schedule.phases.at(-1).end_date
