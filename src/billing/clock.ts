/**
 * Time as a dependency. Every access decision takes "now" from a `Clock` (milliseconds, as
 * `Date.now`), so tests and demos can move it; a customer attached to a Stripe test clock lives in
 * that clock's time instead (its `frozen_time`, learned from the customer and the
 * `test_helpers.test_clock.*` events), exactly as Stripe bills them.
 */
export type Clock = () => number

export const hostClock: Clock = () => Date.now()

/** The moment, in unix seconds, a user's access is decided at. */
export function accessNow (clock: Clock, testClockTime: number | null | undefined): number {
  return testClockTime ?? Math.floor(clock() / 1000)
}
