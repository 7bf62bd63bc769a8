import type { Ctx } from './context.js'
import type { Obj } from './store.js'

/** Whatever names a time: an object, a customer id, a test clock id, or nothing (the account). */
export type TimeOwner = Obj | string | null | undefined

/**
 * The test clock an object lives in: its own `test_clock`, else its customer's. A test clock itself,
 * and everything without a customer (products, prices, endpoints), lives in the account's time.
 */
export function clockIdOf (ctx: Ctx, of: TimeOwner): string | null {
  if (!of) return null
  if (typeof of === 'string') {
    if (of.startsWith('clock_')) return of
    return of.startsWith('cus_') ? ctx.store.get('customers', of)?.test_clock ?? null : null
  }
  if (of.object === 'test_helpers.test_clock') return null
  if (typeof of.test_clock === 'string') return of.test_clock
  const customer = typeof of.customer === 'string' ? of.customer : of.customer?.id
  return typeof customer === 'string' ? ctx.store.get('customers', customer)?.test_clock ?? null : null
}

/** "Now" for an object: its test clock's frozen time, or the account's clock. Every timestamp asks here. */
export function nowFor (ctx: Ctx, of?: TimeOwner): number {
  const clockId = clockIdOf(ctx, of)
  const clock = clockId ? ctx.store.get('test_clocks', clockId) : undefined
  return clock ? clock.frozen_time : ctx.clock.now()
}
