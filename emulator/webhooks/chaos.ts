// Knobs that make delivery behave like the real network Stripe sees: duplicates, reordering,
// failed first attempts, and events that never arrive (so receivers must reconcile).
export interface Chaos {
  duplicate_rate: number
  shuffle_window_ms: number
  first_attempt_failure_rate: number
  drop_rate: number
}

export const NO_CHAOS: Chaos = { duplicate_rate: 0, shuffle_window_ms: 0, first_attempt_failure_rate: 0, drop_rate: 0 }

const clampRate = (v: unknown) => Math.min(1, Math.max(0, Number(v) || 0))

export function parseChaos (input: Record<string, unknown>, current: Chaos): Chaos {
  const next = { ...current }
  if (input.duplicate_rate !== undefined) next.duplicate_rate = clampRate(input.duplicate_rate)
  if (input.first_attempt_failure_rate !== undefined) next.first_attempt_failure_rate = clampRate(input.first_attempt_failure_rate)
  if (input.drop_rate !== undefined) next.drop_rate = clampRate(input.drop_rate)
  if (input.shuffle_window_ms !== undefined) next.shuffle_window_ms = Math.max(0, Number(input.shuffle_window_ms) || 0)
  return next
}
