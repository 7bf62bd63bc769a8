import { badRequest } from '../wire/errors.js'
import { includable } from './includable.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

// Replaces id strings along each dotted path with the objects they name, and fills in the fields
// Stripe includes only when asked (an invoice's `payments`, a session's `line_items`). Works on a
// clone, so stored objects keep ids like Stripe's do.
export function expandPaths (ctx: Ctx, root: Obj, paths: string[]): Obj {
  for (const path of paths) {
    expandAt(ctx, root, path.split('.'), path)
  }
  return root
}

function expandAt (ctx: Ctx, node: any, segments: string[], full: string): void {
  if (node === null || node === undefined) return
  if (Array.isArray(node)) {
    for (const el of node) expandAt(ctx, el, segments, full)
    return
  }
  const [head, ...rest] = segments
  if (typeof node === 'object' && !(head in node)) {
    const value = includable(ctx, node, head)
    if (value !== undefined) node[head] = value
  }
  if (typeof node !== 'object' || !(head in node)) {
    throw badRequest(`This property cannot be expanded (${full}).`, 'expand')
  }
  // Every id along the path is expanded, as `latest_invoice.payment_intent` expands the invoice first.
  const value = node[head]
  const expanded = (id: unknown) => {
    const found = typeof id === 'string' ? ctx.store.findById(id) : undefined
    return found ? structuredClone(found) : id
  }
  // A list of ids (an invoice's `discounts`) expands each of them.
  node[head] = Array.isArray(value) ? value.map(expanded) : expanded(value)
  if (rest.length > 0) expandAt(ctx, node[head], rest, full)
}
