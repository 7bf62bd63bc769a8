import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import type { ClientContext, Result } from 'ioredis'
import type { Counted, ThresholdCrossing, UsageCall } from '../billing/usage.js'
import type { Db } from '../db/client.js'
import { ledgerHas, ledgerTotal, type LedgerEntry } from '../db/usage-ledger-repo.js'
import type { RedisClient } from './connections.js'

/**
 * Users are spread over this many Redis Cluster slots. A user's counters, idempotency answers and the
 * ledger stream they append to share one hash tag, so one script touches one slot; the drain reads
 * one stream per shard.
 */
export const USAGE_SHARDS = 16

/** How long the first answer to an idempotency key is kept, and replayed. */
const IDEMPOTENCY_SECONDS = 86_400

/**
 * The hash tag of a shard under the configured prefix. Redis hashes the first `{…}` of a key, so the
 * prefix's own braces (`{tollgate}` puts every queue on one slot) are dropped here.
 */
const shardTag = (prefix: string, shard: number) => `{${prefix.replace(/[{}]/g, '')}:usage:${shard}}`
export const shardOf = (userId: string) => crc32(userId) % USAGE_SHARDS
export const ledgerStreamKey = (prefix: string, shard: number) => `${shardTag(prefix, shard)}:ledger`
export const counterKey = (prefix: string, userId: string, metric: string, windowStart: number) =>
  `${shardTag(prefix, shardOf(userId))}:used:${userId}:${metric}:${windowStart}`
/** Every usage key of a prefix starts with this (for scans). */
export const usageKeyPattern = (prefix: string) => `{${prefix.replace(/[{}]/g, '')}:usage:*`
const idempotencyKey = (prefix: string, userId: string, key: string) =>
  `${shardTag(prefix, shardOf(userId))}:idem:${userId}:${createHash('sha256').update(key).digest('base64url')}`

/**
 * One call, atomically: a replayed idempotency key answers as the first time; a missing counter is
 * seeded from the ledger (or the caller is told to rebuild it first); a hard limit refuses what
 * would pass it and counts nothing; anything counted is appended to the shard's ledger stream in the
 * same step, so the count and its durable record cannot part, with the thresholds (80 %, 100 % of
 * the limit) it crossed and the count that crossed them. An entry carries only the fields it has
 * (most calls have no idempotency key and cross nothing): the stream holds every call until the
 * drain writes it, and Redis, its memory and the drain all pay per field. Answers "allowed used
 * limit resets_at".
 */
const USAGE_SCRIPT = `
if ARGV[11] ~= '' then
  local first = redis.call('GET', KEYS[2])
  if first then return first end
end
local used = redis.call('GET', KEYS[1])
if not used then
  if ARGV[5] == '' then return 'rebuild' end
  used = ARGV[5]
  redis.call('SET', KEYS[1], used, 'EX', ARGV[6])
end
used = tonumber(used)
local q = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local allowed = 1
if ARGV[1] == 'peek' then
elseif ARGV[1] == 'consume' and ARGV[4] == '1' and used + q > limit then
  allowed = 0
else
  used = redis.call('INCRBY', KEYS[1], q)
  local before = used - q
  local crossed = ''
  if before * 100 < limit * 80 and used * 100 >= limit * 80 then crossed = '80' end
  if before < limit and used >= limit then crossed = crossed .. ' 100' end
  local entry = {'e', ARGV[7], 'u', ARGV[8], 'm', ARGV[9], 'w', ARGV[10], 'q', ARGV[2], 't', ARGV[13]}
  if ARGV[11] ~= '' then table.insert(entry, 'k') table.insert(entry, ARGV[11]) end
  if crossed ~= '' then
    for _, v in ipairs({'x', crossed, 'n', used, 'l', ARGV[3], 'r', ARGV[12]}) do table.insert(entry, v) end
  end
  redis.call('XADD', KEYS[3], '*', unpack(entry))
end
local answer = string.format('%d %d %d %s', allowed, used, limit, ARGV[12])
if ARGV[11] ~= '' then redis.call('SET', KEYS[2], answer, 'EX', ${IDEMPOTENCY_SECONDS}) end
return answer`

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    tollgateUsage: (counter: string, idempotency: string, stream: string, ...args: Array<string | number>) => Result<string, Context>
  }
}

function withScript (redis: RedisClient): RedisClient {
  if (typeof (redis as Partial<RedisClient>).tollgateUsage !== 'function') redis.defineCommand('tollgateUsage', { numberOfKeys: 3, lua: USAGE_SCRIPT })
  return redis
}

export interface UsageCounterDeps { redis: RedisClient, db: Db, prefix: string }

function parse (answer: string): Counted {
  const [allowed, used, limit, resetsAt] = answer.split(' ')
  return { allowed: allowed === '1', used: Number(used), limit: Number(limit), resetsAt: resetsAt ? Number(resetsAt) : null }
}

/** The counter port of the usage use cases, on one Redis connection. */
export const counterOn = (deps: UsageCounterDeps) => async (call: UsageCall) => await countUsage(deps, call)

/** Counts (or reads) one call; a counter Redis lost is rebuilt from the ledger before it answers. */
export async function countUsage (deps: UsageCounterDeps, call: UsageCall): Promise<Counted> {
  const redis = withScript(deps.redis)
  const shard = shardOf(call.userId)
  const counter = counterKey(deps.prefix, call.userId, call.metric, call.windowStart)
  // Without an idempotency key the script reads no idempotency answer: the counter stands in for its key.
  const keys = [
    counter,
    call.idempotencyKey ? idempotencyKey(deps.prefix, call.userId, call.idempotencyKey) : counter,
    ledgerStreamKey(deps.prefix, shard)
  ] as const
  const args = (seed: string) => [
    call.mode, call.quantity, call.limit, call.hard ? 1 : 0, seed, Math.max(1, Math.round(call.counterTtl)), call.entryId, call.userId, call.metric,
    call.windowStart, call.idempotencyKey ?? '', call.resetsAt ?? '', call.at
  ]
  let answer = await redis.tollgateUsage(...keys, ...args(''))
  if (answer === 'rebuild') {
    const seed = await rebuiltCount(deps, shard, call.userId, call.metric, call.windowStart)
    // A concurrent rebuild may have seeded it first: the script keeps whichever seed came first.
    answer = await redis.tollgateUsage(...keys, ...args(String(seed)))
  }
  return parse(answer)
}

const fieldsOf = (fields: string[]) => {
  const f: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!
  return f
}

/** A stream entry as the script wrote it. */
export function entryOf (fields: string[]): LedgerEntry {
  const f = fieldsOf(fields)
  return {
    entryId: f.e!, userId: f.u!, metric: f.m!, windowStart: Number(f.w), quantity: Number(f.q), idempotencyKey: f.k || null, createdAt: new Date(Number(f.t))
  }
}

/** The thresholds an entry's count crossed, with what the user had used and the limit then. */
export function crossingOf (fields: string[]): ThresholdCrossing | null {
  const f = fieldsOf(fields)
  const percents = (f.x ?? '').split(' ').filter(Boolean).map(Number) as Array<80 | 100>
  if (percents.length === 0) return null
  return {
    userId: f.u!, metric: f.m!, windowStart: Number(f.w), percents, used: f.n ? Number(f.n) : null, limit: Number(f.l), resetsAt: f.r ? Number(f.r) : null, at: Math.floor(Number(f.t) / 1000)
  }
}

/**
 * What a user used in a window: the ledger, plus what the shard's stream holds that the drain has not
 * written yet. The stream is read first: the drain deletes an entry only after writing it, so every
 * entry is in one or the other, and one in both is counted once.
 */
async function rebuiltCount (deps: UsageCounterDeps, shard: number, userId: string, metric: string, windowStart: number): Promise<number> {
  const pending = (await deps.redis.xrange(ledgerStreamKey(deps.prefix, shard), '-', '+'))
    .map(([, fields]) => entryOf(fields))
    .filter(e => e.userId === userId && e.metric === metric && e.windowStart === windowStart)
  const [stored, written] = await Promise.all([
    ledgerTotal(deps.db, userId, metric, windowStart),
    ledgerHas(deps.db, pending.map(e => e.entryId))
  ])
  return stored + pending.filter(e => !written.has(e.entryId)).reduce((n, e) => n + e.quantity, 0)
}
