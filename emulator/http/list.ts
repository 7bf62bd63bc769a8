import { badRequest, missing } from '../wire/errors.js'
import { toInt } from '../wire/form.js'
import type { Obj } from '../store.js'
import type { Params } from '../wire/form.js'

// Cursor pagination over a newest-first array, with Stripe's envelope.
export function listEnvelope (items: Obj[], query: Params, url: string, resource = 'object'): Obj {
  const limit = toInt(query.limit) ?? 10
  if (limit < 1 || limit > 100) throw badRequest('This value must be between 1 and 100.', 'limit')
  let start = 0
  let end = items.length
  if (query.starting_after) {
    const i = items.findIndex((o) => o.id === query.starting_after)
    if (i === -1) throw missing(resource, String(query.starting_after), 'starting_after')
    start = i + 1
  } else if (query.ending_before) {
    const i = items.findIndex((o) => o.id === query.ending_before)
    if (i === -1) throw missing(resource, String(query.ending_before), 'ending_before')
    end = i
    start = Math.max(0, end - limit)
  }
  const page = items.slice(start, Math.min(end, start + limit))
  return { object: 'list', data: page, has_more: start + limit < end, url }
}

// `created` filters accept a number or {gt, gte, lt, lte}, as in Stripe.
export function matchesRange (value: number, filter: unknown): boolean {
  if (filter === undefined || filter === '') return true
  if (typeof filter !== 'object' || filter === null) return value === Number(filter)
  const f = filter as Record<string, string>
  if (f.gt !== undefined && !(value > Number(f.gt))) return false
  if (f.gte !== undefined && !(value >= Number(f.gte))) return false
  if (f.lt !== undefined && !(value < Number(f.lt))) return false
  if (f.lte !== undefined && !(value <= Number(f.lte))) return false
  return true
}
