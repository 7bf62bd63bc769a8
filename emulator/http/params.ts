import { ApiError } from '../wire/errors.js'

// The parameters a route accepts, checked before its handler runs, so that anything the emulator
// does not know gets Stripe's own answer instead of being silently ignored.
export type Spec =
  | { kind: 'string' | 'int' | 'number' | 'bool' | 'any' | 'map' | 'range' }
  | { kind: 'enum', values: readonly string[] }
  | { kind: 'object', fields: Fields }
  | { kind: 'array', of: Spec }
  | { kind: 'either', options: Spec[] }
export type Fields = Record<string, Spec>

export const P = {
  str: { kind: 'string' } as Spec,
  int: { kind: 'int' } as Spec,
  /** A decimal number (percent_off, unit_amount_decimal). */
  num: { kind: 'number' } as Spec,
  bool: { kind: 'bool' } as Spec,
  any: { kind: 'any' } as Spec,
  /** Free-form keys, like metadata. */
  map: { kind: 'map' } as Spec,
  /** A timestamp or a `{gt, gte, lt, lte}` range, as list filters take them. */
  range: { kind: 'range' } as Spec,
  enum: (...values: string[]): Spec => ({ kind: 'enum', values }),
  obj: (fields: Fields): Spec => ({ kind: 'object', fields }),
  arr: (of: Spec): Spec => ({ kind: 'array', of }),
  either: (...options: Spec[]): Spec => ({ kind: 'either', options })
}

// Parameters Stripe takes (somewhere) that the emulator does not act on: refused with a message that
// says so, instead of Stripe's "unknown parameter", which would be untrue.
const NOT_EMULATED = new Set([
  'add_invoice_items', 'application_fee_amount', 'application_fee_percent', 'automatic_tax', 'backdate_start_date', 'balance',
  'billing_cycle_anchor', 'billing_cycle_anchor_config', 'billing_thresholds', 'cash_balance', 'currency_options',
  'custom_fields', 'custom_text', 'custom_unit_amount', 'default_tax_rates', 'invoice_settings', 'on_behalf_of',
  'payment_method_data', 'payment_method_options', 'pending_invoice_item_interval', 'shipping',
  'shipping_address_collection', 'statement_descriptor', 'tax', 'tax_code', 'tax_exempt', 'tax_id_data',
  'tax_rates', 'transfer_data', 'pause_schedules', 'billing_mode', 'discounts', 'source', 'schedule'
])

export const LIST_PARAMS: Fields = { limit: P.int, starting_after: P.str, ending_before: P.str }

const invalid = (param: string, message: string) => new ApiError(400, 'invalid_request_error', message, 'parameter_invalid', param)
const isHash = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v))

function listOf (values: readonly string[]): string {
  return values.length > 1 ? `${values.slice(0, -1).join(', ')}, or ${values.at(-1)}` : values.join('')
}

function problem (spec: Spec, value: unknown, path: string): ApiError | undefined {
  // An empty value unsets a field in Stripe's form encoding; handlers decide what that means.
  if (value === '' || spec.kind === 'any') return undefined
  switch (spec.kind) {
    case 'string':
      return typeof value === 'string' ? undefined : invalid(path, `Invalid string: ${show(value)}`)
    case 'int':
      return typeof value === 'string' && /^-?\d+$/.test(value) ? undefined : invalid(path, `Invalid integer: ${show(value)}`)
    case 'number':
      return typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? undefined : invalid(path, `Invalid decimal: ${show(value)}`)
    case 'bool':
      return value === 'true' || value === 'false' ? undefined : invalid(path, `Invalid boolean: ${show(value)}`)
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value)
        ? undefined
        : invalid(path, `Invalid ${path.replace(/^.*\[([^\]]+)\]$/, '$1')}: must be one of ${listOf(spec.values)}`)
    case 'map':
      return isHash(value) ? undefined : invalid(path, 'Invalid hash')
    case 'range':
      if (isHash(value)) return unknownIn({ gt: P.int, gte: P.int, lt: P.int, lte: P.int }, value, path)
      return problem(P.int, value, path)
    case 'object':
      return isHash(value) ? unknownIn(spec.fields, value, path) : invalid(path, 'Invalid hash')
    case 'array':
      if (!Array.isArray(value)) return invalid(path, 'Invalid array')
      for (let i = 0; i < value.length; i++) {
        const found = problem(spec.of, value[i], `${path}[${i}]`)
        if (found) return found
      }
      return undefined
    case 'either': {
      const problems = spec.options.map((o) => problem(o, value, path))
      return problems.includes(undefined) ? undefined : problems[0]
    }
  }
}

function unknownIn (fields: Fields, body: Record<string, unknown>, prefix: string): ApiError | undefined {
  for (const [key, value] of Object.entries(body)) {
    const path = prefix ? `${prefix}[${key}]` : key
    const spec = fields[key]
    if (!spec) {
      const message = NOT_EMULATED.has(key)
        ? `The emulator does not support the parameter \`${path}\` here (Stripe does): see docs/EMULATOR.md for what is emulated.`
        : `Received unknown parameter: ${path}`
      return new ApiError(400, 'invalid_request_error', message, 'parameter_unknown', path)
    }
    const found = problem(spec, value, path)
    if (found) return found
  }
  return undefined
}

/** Throws Stripe's 400 for the first parameter the route does not take or that has the wrong type. */
export function checkParams (fields: Fields, body: Record<string, unknown>): void {
  const found = unknownIn({ expand: P.arr(P.str), ...fields }, body, '')
  if (found) throw found
}
