// Stripe's wire format: `a[b][0][c]=v` nests, numeric segments index arrays, `a[]=` appends.
// Written by hand because the SDK's encoding (indexed arrays, empty value = unset) is not what
// querystring/URLSearchParams-based parsers produce.
export type Params = Record<string, any>

function decode (s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '))
}

function splitKey (key: string): string[] {
  const first = key.indexOf('[')
  if (first <= 0) return [key]
  const segments = [key.slice(0, first)]
  const re = /\[([^\]]*)\]/g
  let m: RegExpExecArray | null
  while ((m = re.exec(key.slice(first))) !== null) segments.push(m[1])
  return segments
}

function assign (target: any, segments: string[], value: string): void {
  let node = target
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]
    const last = i === segments.length - 1
    const nextIsIndex = !last && (segments[i + 1] === '' || /^\d+$/.test(segments[i + 1]))
    const slot = Array.isArray(node) && seg === '' ? node.length : seg
    if (last) {
      node[slot] = value
      return
    }
    if (node[slot] === undefined || typeof node[slot] !== 'object') node[slot] = nextIsIndex ? [] : {}
    node = node[slot]
  }
}

// Sparse arrays (e.g. only items[1] sent) become dense so handlers can iterate safely.
function compact (value: any): any {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(compact)
  if (value && typeof value === 'object') {
    for (const k of Object.keys(value)) value[k] = compact(value[k])
  }
  return value
}

export function parseForm (body: string): Params {
  const out: Params = {}
  if (!body) return out
  for (const pair of body.split('&')) {
    if (!pair) continue
    const eq = pair.indexOf('=')
    const rawKey = eq === -1 ? pair : pair.slice(0, eq)
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1)
    assign(out, splitKey(decode(rawKey)), decode(rawValue))
  }
  return compact(out)
}

export function toList (value: unknown): string[] {
  if (value === undefined || value === '') return []
  if (Array.isArray(value)) return value.map(String)
  if (typeof value === 'object' && value !== null) return Object.values(value).map(String)
  return [String(value)]
}

export function toBool (value: unknown): boolean | undefined {
  if (value === undefined || value === '') return undefined
  return value === true || value === 'true'
}

export function toInt (value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  return Number.isFinite(n) ? Math.trunc(n) : undefined
}

// Empty string clears a nullable field, as in Stripe's API.
export function nullable (value: unknown): string | null | undefined {
  if (value === undefined) return undefined
  return value === '' ? null : String(value)
}

export function mergeMetadata (current: Record<string, string>, patch: unknown): Record<string, string> {
  if (patch === undefined) return current
  if (patch === '') return {}
  const next = { ...current }
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === '' || v === null) delete next[k]
    else next[k] = String(v)
  }
  return next
}
