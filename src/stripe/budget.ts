import type { RedisClient } from '../queue/connections.js'

/** Stripe calls a piece of work may make, counted against Stripe's separate read and write limits. */
export interface StripeCost { reads: number, writes: number }

export type BudgetAnswer = { ok: true } | { ok: false, retryAfterMs: number }

export interface StripeBudget {
  /** Takes `cost` from the budget all api processes share, or says how long until it would fit. */
  take: (cost: StripeCost) => Promise<BudgetAnswer>
}

/**
 * Stripe allows 100 reads and 100 writes a second in live mode and 25 of each in test mode. The
 * defaults keep a fifth of that for the workers, whose calls the budget does not count (they retry
 * Stripe's 429 with backoff).
 */
export function defaultBudgetPerSecond (secretKey: string): number {
  return /^(sk|rk)_live_/.test(secretKey) ? 80 : 20
}

/**
 * Two token buckets, reads and writes, in one hash, refilled at their rate per second up to one
 * second's worth (or the largest single cost). One script checks and takes both, against Redis's own
 * clock, so every api process draws on the same budget and none can take what another just took.
 */
const TAKE = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate = { tonumber(ARGV[1]), tonumber(ARGV[2]) }
local cost = { tonumber(ARGV[3]), tonumber(ARGV[4]) }
local state = redis.call('HMGET', KEYS[1], 'r', 'w', 't')
local last = tonumber(state[3]) or ms
local tokens = {}
local wait = 0
for i = 1, 2 do
  local cap = math.max(rate[i], cost[i])
  tokens[i] = math.min(cap, (tonumber(state[i]) or cap) + math.max(0, ms - last) * rate[i] / 1000)
  if tokens[i] < cost[i] then wait = math.max(wait, (cost[i] - tokens[i]) * 1000 / rate[i]) end
end
if wait > 0 then return math.ceil(wait) end
redis.call('HSET', KEYS[1], 'r', tostring(tokens[1] - cost[1]), 'w', tostring(tokens[2] - cost[2]), 't', ms)
redis.call('PEXPIRE', KEYS[1], 60000)
return 0`

export const budgetKey = (prefix: string) => `${prefix}:stripe-budget`

export function createStripeBudget (opts: { redis: RedisClient, prefix: string, readsPerSecond: number, writesPerSecond: number }): StripeBudget {
  const key = budgetKey(opts.prefix)
  return {
    async take (cost) {
      if (cost.reads <= 0 && cost.writes <= 0) return { ok: true }
      const wait = await opts.redis.eval(TAKE, 1, key, opts.readsPerSecond, opts.writesPerSecond, cost.reads, cost.writes) as number
      return wait === 0 ? { ok: true } : { ok: false, retryAfterMs: wait }
    }
  }
}
