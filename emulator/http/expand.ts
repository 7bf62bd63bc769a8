import { badRequest } from '../wire/errors.js'
import type { Obj, Store } from '../store.js'

// Replaces id strings along each dotted path with the objects they name. Works on a clone,
// so stored objects keep ids like Stripe's do.
export function expandPaths (store: Store, root: Obj, paths: string[]): Obj {
  for (const path of paths) {
    expandAt(store, root, path.split('.'), path)
  }
  return root
}

function expandAt (store: Store, node: any, segments: string[], full: string): void {
  if (node === null || node === undefined) return
  if (Array.isArray(node)) {
    for (const el of node) expandAt(store, el, segments, full)
    return
  }
  const [head, ...rest] = segments
  if (typeof node !== 'object' || !(head in node)) {
    throw badRequest(`This property cannot be expanded (${full}).`, 'expand')
  }
  if (rest.length === 0) {
    const value = node[head]
    if (typeof value === 'string') {
      const found = store.findById(value)
      if (found) node[head] = structuredClone(found)
    }
    return
  }
  expandAt(store, node[head], rest, full)
}
