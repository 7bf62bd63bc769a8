import { runDueWork } from './cycle.js'
import { addInterval } from './period.js'
import { badRequest } from '../wire/errors.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

const YEAR = 365 * 86_400
const jobKey = (clockId: string) => `test_clock:${clockId}`

const customersOf = (ctx: Ctx, clockId: string) => [...ctx.store.collections.customers.values()].filter((c) => c.test_clock === clockId)

/**
 * Stripe refuses to move a clock more than two intervals of its shortest subscription at once (two
 * years without subscriptions), so that every period in between is billed.
 */
export function advanceLimit (ctx: Ctx, clock: Obj): number {
  let limit = clock.frozen_time + 2 * YEAR
  for (const sub of ctx.store.collections.subscriptions.values()) {
    if (sub.test_clock !== clock.id || sub.status === 'canceled' || sub.status === 'incomplete_expired') continue
    for (const item of sub.items.data) {
      const recurring = item.price.recurring
      if (!recurring) continue
      limit = Math.min(limit, addInterval(clock.frozen_time, recurring.interval, 2 * Math.max(1, recurring.interval_count)))
    }
  }
  return limit
}

/** What `POST …/advance` does: the clock says `advancing` in the answer; the work runs right after it. */
export function startAdvance (ctx: Ctx, clock: Obj, target: number, request?: RequestInfo): Obj {
  if (clock.status === 'advancing') {
    throw badRequest(`Test clock ${clock.id} is already advancing; wait until its status is \`ready\`.`, 'frozen_time', 'test_clock_advancing')
  }
  if (!(target > clock.frozen_time)) {
    throw badRequest(`The frozen_time (${target}) must be after the test clock's current frozen_time (${clock.frozen_time}).`, 'frozen_time')
  }
  const limit = advanceLimit(ctx, clock)
  if (target > limit) {
    throw badRequest(`Cannot advance the test clock beyond ${limit}: at most two intervals of its shortest subscription (two years without subscriptions) at a time.`, 'frozen_time')
  }
  clock.status = 'advancing'
  clock.status_details = { advancing: { target_frozen_time: target } }
  ctx.emit('test_helpers.test_clock.advancing', clock, { request })
  ctx.background.schedule(jobKey(clock.id), () => finishAdvance(ctx, clock.id, target), ctx.settings.testClockAdvanceMs)
  return clock
}

function finishAdvance (ctx: Ctx, clockId: string, target: number): void {
  const clock = ctx.store.get('test_clocks', clockId)
  if (!clock) return
  try {
    runDueWork(ctx, clock.id, target, (at) => {
      clock.frozen_time = Math.max(clock.frozen_time, at)
    })
  } catch (err) {
    clock.status = 'internal_failure'
    clock.status_details = {}
    ctx.emit('test_helpers.test_clock.internal_failure', clock)
    throw err
  }
  clock.status = 'ready'
  clock.status_details = {}
  ctx.emit('test_helpers.test_clock.ready', clock)
}

/** Finishes the clock's pending advance now (callers that need its result before going on). */
export function settleAdvance (ctx: Ctx, clockId: string): void {
  ctx.background.runNow(jobKey(clockId))
}

/** Moves one clock by `seconds` at once (the control route that moves everyone), without the two-interval limit. */
export function advanceNow (ctx: Ctx, clock: Obj, seconds: number): void {
  settleAdvance(ctx, clock.id)
  if (clock.status !== 'ready' || seconds <= 0) return
  clock.status = 'advancing'
  clock.status_details = { advancing: { target_frozen_time: clock.frozen_time + seconds } }
  ctx.emit('test_helpers.test_clock.advancing', clock)
  finishAdvance(ctx, clock.id, clock.frozen_time + seconds)
}

/** Deleting a clock deletes its customers and everything of theirs, as Stripe does. */
export function deleteTestClock (ctx: Ctx, clock: Obj, request: RequestInfo, deleteCustomer: (customer: Obj) => void): Obj {
  ctx.background.cancel(jobKey(clock.id))
  for (const customer of customersOf(ctx, clock.id)) deleteCustomer(customer)
  ctx.store.delete('test_clocks', clock.id)
  const deleted = { id: clock.id, object: 'test_helpers.test_clock', deleted: true }
  ctx.emit('test_helpers.test_clock.deleted', clock, { request })
  return deleted
}

/**
 * The control route's advance: the account's own time and every test clock move by `seconds`, each
 * clock stepping through its own due moments.
 */
export function advanceEveryone (ctx: Ctx, seconds: number): number {
  const step = Math.max(0, Math.floor(seconds))
  runDueWork(ctx, null, ctx.clock.now() + step, (at) => ctx.clock.advanceTo(at))
  for (const clock of [...ctx.store.collections.test_clocks.values()]) advanceNow(ctx, clock, step)
  return ctx.clock.now()
}
