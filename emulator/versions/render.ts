import { CHANGES, type Lookup, type VersionChange } from './changes.js'
import { compareVersions, LATEST_VERSION } from './names.js'
import type { Obj } from '../store.js'

export type { Lookup } from './changes.js'

// Walks the whole tree: a change applies to every embedded object of its types too (a
// subscription's items, an invoice's lines, an item's price and plan).
function downgradeTree (node: unknown, change: VersionChange, lookup: Lookup): void {
  if (Array.isArray(node)) {
    for (const el of node) downgradeTree(el, change, lookup)
    return
  }
  if (node === null || typeof node !== 'object') return
  const obj = node as Obj
  const downgrade = typeof obj.object === 'string' ? change.downgrade[obj.object] : undefined
  if (downgrade) downgrade(obj, lookup)
  for (const [key, value] of Object.entries(obj)) {
    if (key !== 'metadata') downgradeTree(value, change, lookup)
  }
}

/** A copy of an object of the latest version, as the given version shows it. */
export function renderObject (object: Obj, version: string, lookup: Lookup): Obj {
  const copy = structuredClone(object)
  // Newest change first, each undoing one step back, as Stripe's version changes do.
  for (const change of CHANGES) {
    if (compareVersions(version, change.version) < 0) downgradeTree(copy, change, lookup)
  }
  return copy
}

/**
 * An event as an endpoint of `version` receives it. `previous_attributes` holds the old values of
 * the top-level fields that changed *in that version* (a renewal changes the items' periods at
 * the latest version, the subscription's own before 2025-03-31.basil), so it is recomputed from
 * the object before and after the change, each rendered.
 */
export function renderEvent (event: Obj, version: string, lookup: Lookup): Obj {
  if (version === LATEST_VERSION && event.api_version === LATEST_VERSION) return event
  const { data, ...envelope } = event
  const object = renderObject(data.object, version, lookup)
  const rendered: Obj = { ...envelope, api_version: version, data: { object } }
  if (data.previous_attributes) {
    const before = renderObject({ ...data.object, ...data.previous_attributes }, version, lookup)
    const previous: Obj = {}
    for (const key of new Set([...Object.keys(before), ...Object.keys(object)])) {
      if (JSON.stringify(before[key]) !== JSON.stringify(object[key])) previous[key] = before[key] ?? null
    }
    rendered.data.previous_attributes = previous
  }
  return rendered
}
