import { sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { compactionCutoff, compactLedger, pruneLedgerWindows } from './usage-ledger-compaction.js'

/**
 * One kind of row that grows with traffic and how long it is kept: a number of days and a prune of
 * one small batch.
 */
export interface RetentionRule {
  /** What it prunes, as the job's result and the logs name it. */
  name: string
  /** Kept this many days (a fraction is fine); 0 keeps it for ever. */
  days: number
  /**
   * Moves the cutoff earlier when something outside Postgres still needs younger rows; asked once per
   * run, before the first batch, outside any transaction.
   */
  cutoff?: (nominal: Date) => Promise<Date>
  /** Prunes at most `limit` rows older than `cutoff` in one statement; answers how many it pruned. */
  prune: (db: Db, cutoff: Date, limit: number) => Promise<number>
}

/**
 * Clears the payloads of applied and ignored events received before `cutoff`. The row — the claim
 * that makes a redelivery or a replay a no-op, and the audit line — stays. Failed events keep their
 * payload: a replay needs it. Rows another transaction holds are skipped, never waited for.
 */
export async function pruneEventPayloads (db: Db, cutoff: Date, limit: number): Promise<number> {
  const rows = await db.execute(sql`update stripe_events set payload = null where event_id in (
    select event_id from stripe_events where payload is not null and outcome <> 'failed' and received_at < ${cutoff.toISOString()}::timestamptz
    order by received_at limit ${limit} for update skip locked) returning 1`)
  return rows.length
}

/** Deletes outbox rows sent before `cutoff` (the recipient's address goes with them). Pending and failed rows stay. */
export async function pruneSentEmails (db: Db, cutoff: Date, limit: number): Promise<number> {
  const rows = await db.execute(sql`delete from email_outbox where id in (
    select id from email_outbox where status = 'sent' and sent_at < ${cutoff.toISOString()}::timestamptz
    order by sent_at limit ${limit} for update skip locked) returning 1`)
  return rows.length
}

/**
 * Deletes the attempt log of product event deliveries and the delivered deliveries before `cutoff`.
 * The events themselves stay: their seqs number the user's next ones, and a replay writes their
 * deliveries again.
 */
export async function pruneProductDeliveries (db: Db, cutoff: Date, limit: number): Promise<number> {
  const at = cutoff.toISOString()
  const [attempts, deliveries] = await Promise.all([
    db.execute(sql`delete from product_delivery_attempts where id in (
      select id from product_delivery_attempts where created_at < ${at}::timestamptz order by id limit ${limit} for update skip locked) returning 1`),
    db.execute(sql`delete from product_deliveries where (endpoint_id, event_id) in (
      select endpoint_id, event_id from product_deliveries where status = 'delivered' and delivered_at < ${at}::timestamptz
      limit ${limit} for update skip locked) returning 1`)
  ])
  return Math.max(attempts.length, deliveries.length)
}

export interface RetentionConfig {
  EVENT_PAYLOAD_RETENTION_DAYS: number
  EMAIL_RETENTION_DAYS: number
  PRODUCT_DELIVERY_RETENTION_DAYS: number
  USAGE_LEDGER_COMPACT_HOURS: number
  USAGE_LEDGER_RETENTION_DAYS: number
}

export interface RetentionPorts {
  /** When the oldest usage entry still waiting in the Redis streams was appended (ms), or null if none waits. */
  oldestWaitingUsage: () => Promise<number | null>
}

/** Compaction runs before the windows rule, so a window old enough to go is one row by then. */
export function retentionRules (config: RetentionConfig, ports: RetentionPorts): RetentionRule[] {
  return [
    { name: 'stripe_events.payload', days: config.EVENT_PAYLOAD_RETENTION_DAYS, prune: pruneEventPayloads },
    { name: 'email_outbox.sent', days: config.EMAIL_RETENTION_DAYS, prune: pruneSentEmails },
    { name: 'product_deliveries.delivered', days: config.PRODUCT_DELIVERY_RETENTION_DAYS, prune: pruneProductDeliveries },
    {
      name: 'usage_ledger.folded',
      days: config.USAGE_LEDGER_COMPACT_HOURS / 24,
      cutoff: async nominal => compactionCutoff(nominal, await ports.oldestWaitingUsage()),
      prune: compactLedger
    },
    { name: 'usage_ledger.windows', days: config.USAGE_LEDGER_RETENTION_DAYS, prune: pruneLedgerWindows }
  ]
}

export interface RetentionRun {
  /** Rows pruned per rule. */
  pruned: Record<string, number>
  /** True when the time budget ran out with rows left: the next run goes on. */
  more: boolean
}

/**
 * Prunes in batches of `batch` rows, each its own short statement, so a batch holds its row locks for
 * milliseconds and the apply path never waits behind it; stops after `budgetMs` (the next scheduled
 * run carries on).
 */
export async function applyRetention (db: Db, rules: RetentionRule[], opts: { batch?: number, budgetMs?: number, now?: number } = {}): Promise<RetentionRun> {
  const batch = opts.batch ?? 500
  const now = opts.now ?? Date.now()
  const deadline = Date.now() + (opts.budgetMs ?? 20_000)
  const run: RetentionRun = { pruned: {}, more: false }
  for (const rule of rules.filter(r => r.days > 0)) {
    const nominal = new Date(now - rule.days * 86_400_000)
    const cutoff = rule.cutoff ? await rule.cutoff(nominal) : nominal
    run.pruned[rule.name] = 0
    for (;;) {
      if (Date.now() > deadline) { run.more = true; return run }
      const n = await rule.prune(db, cutoff, batch)
      run.pruned[rule.name] += n
      if (n < batch) break
    }
  }
  return run
}
