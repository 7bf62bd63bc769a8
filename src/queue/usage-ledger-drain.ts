import type { Logger } from 'pino'
import { thresholdEmails, thresholdEvents } from '../billing/usage.js'
import type { Db } from '../db/client.js'
import { eventEntitlementsOf } from '../db/entitlements-repo.js'
import { lockKeys } from '../db/locks.js'
import { queueEmails, type OutboxRef } from '../db/outbox-repo.js'
import { saveProductEvents } from '../db/product-events-repo.js'
import { appendLedger, emailsOf } from '../db/usage-ledger-repo.js'
import { faultPoint } from '../fault-points.js'
import type { RedisClient } from './connections.js'
import { crossingOf, entryOf, ledgerStreamKey, USAGE_SHARDS } from './usage-counter.js'

export interface UsageDrainDeps {
  redis: RedisClient
  db: Db
  prefix: string
  /** After commit: queue the send jobs of the threshold emails written (the outbox sweep is the safety net). */
  emailsWritten?: (refs: OutboxRef[]) => Promise<void>
  /** After commit: these users may have product events waiting (the product events sweep is the safety net). */
  productEventsWritten?: (userIds: string[]) => Promise<void>
}

/**
 * Moves what usage calls counted from the shards' Redis streams into the Postgres ledger: a batch of
 * every shard, read together, written in one statement and one transaction (a commit per pass, not
 * per shard: at load the ledger costs Postgres per statement and per commit as well as per row). An
 * entry leaves its stream only once Postgres holds it, and the insert skips entries already written,
 * so any number of drains may run at once and a crash in between repeats nothing. Entries that
 * crossed 80 % or 100 % of a limit write their email to the outbox and their
 * `usage.threshold_reached` product event in the same transaction, under the user's lock (a user's
 * events are numbered under it); each is kept once per period and threshold. Answers how many
 * entries it moved, and whether a shard's batch came back full (more may be waiting there).
 */
export async function drainUsageLedgerOnce (deps: UsageDrainDeps, batch = 1000): Promise<{ moved: number, full: boolean }> {
  const keys = Array.from({ length: USAGE_SHARDS }, (_, shard) => ledgerStreamKey(deps.prefix, shard))
  const read = await Promise.all(keys.map(async key => ({ key, entries: await deps.redis.xrange(key, '-', '+', 'COUNT', batch) })))
  const batches = read.filter(b => b.entries.length > 0)
  if (batches.length === 0) return { moved: 0, full: false }
  const entries = batches.flatMap(b => b.entries)
  const crossings = entries.flatMap(([, fields]) => crossingOf(fields) ?? [])
  const users = [...new Set(crossings.map(c => c.userId))]
  const refs = await deps.db.transaction(async tx => {
    if (users.length > 0) await lockKeys(tx, users.map(u => `user:${u}`))
    await appendLedger(tx, entries.map(([, fields]) => entryOf(fields)))
    if (crossings.length === 0) return []
    const [to, entitlements] = await Promise.all([emailsOf(tx, users), eventEntitlementsOf(tx, users)])
    await saveProductEvents(tx, crossings.flatMap(c => thresholdEvents(c, entitlements.get(c.userId)!)))
    return await queueEmails(tx, crossings.flatMap(c => (to.has(c.userId) ? thresholdEmails(c, to.get(c.userId)!) : [])))
  })
  await faultPoint('after-ledger-commit', String(entries.length))
  if (refs.length > 0) await deps.emailsWritten?.(refs).catch(() => {})
  // Every crossing user, written now or by a drain that died before this step: their next events go.
  if (users.length > 0) await deps.productEventsWritten?.(users).catch(() => {})
  await Promise.all(batches.map(async b => await deps.redis.xdel(b.key, ...b.entries.map(([id]) => id))))
  return { moved: entries.length, full: batches.some(b => b.entries.length >= batch) }
}

/** One pass of `drainUsageLedgerOnce`; answers how many entries it moved. */
export async function drainUsageLedger (deps: UsageDrainDeps, batch = 1000): Promise<number> {
  return (await drainUsageLedgerOnce(deps, batch)).moved
}

/** Entries waiting in the streams: a backlog that grows means the drain does not keep up. */
export async function usageLedgerBacklog (deps: Pick<UsageDrainDeps, 'redis' | 'prefix'>): Promise<number> {
  let n = 0
  for (let shard = 0; shard < USAGE_SHARDS; shard++) n += await deps.redis.xlen(ledgerStreamKey(deps.prefix, shard))
  return n
}

/**
 * When the oldest entry waiting in any shard's stream was appended (Redis stream ids are XADD
 * milliseconds), or null when none waits: ledger compaction folds nothing from then on.
 */
export async function oldestWaitingUsage (deps: Pick<UsageDrainDeps, 'redis' | 'prefix'>): Promise<number | null> {
  let oldest: number | null = null
  for (let shard = 0; shard < USAGE_SHARDS; shard++) {
    const [first] = await deps.redis.xrange(ledgerStreamKey(deps.prefix, shard), '-', '+', 'COUNT', 1)
    if (!first) continue
    const at = Number(first[0].split('-')[0])
    if (oldest === null || at < oldest) oldest = at
  }
  return oldest
}

export interface UsageDrainLoopOptions {
  /** The rest after a pass whose batches were not full (200 ms). */
  idleMs?: number
  /** Told of every pass that succeeded, with what it moved and whether a batch came back full. */
  onPass?: (pass: { moved: number, full: boolean }) => void
}

/**
 * Drains in a loop: again at once while a batch comes back full, otherwise after `idleMs`, so that at
 * load a pass writes what was counted over `idleMs` in one transaction rather than going round in
 * many small ones. A failure (Postgres restarting) is logged and retried on the next turn; nothing
 * leaves Redis unwritten.
 */
export function startUsageLedgerDrain (deps: UsageDrainDeps, log: Logger, { idleMs = 200, onPass }: UsageDrainLoopOptions = {}): { close: () => Promise<void> } {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let wake: (() => void) | undefined
  const loop = (async () => {
    while (!stopped) {
      let full = false
      try {
        const pass = await drainUsageLedgerOnce(deps)
        onPass?.(pass)
        full = pass.full
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'usage ledger drain failed; retrying')
      }
      if (full || stopped) continue
      await new Promise<void>(resolve => { wake = resolve; timer = setTimeout(resolve, idleMs) })
    }
  })()
  return {
    async close () {
      stopped = true
      clearTimeout(timer)
      wake?.()
      await loop
    }
  }
}
