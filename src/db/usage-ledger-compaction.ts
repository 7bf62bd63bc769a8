import { sql } from 'drizzle-orm'
import type { Db } from './client.js'

/**
 * How far an entry's `created_at` (the api host's clock when it counted) may lie before the id Redis
 * gave it (the Redis host's clock when the script appended it): the time a call spends between the
 * two, and clock skew between hosts. Later entries of a stream carry later ids, so the oldest id less
 * this margin bounds the `created_at` of every entry waiting in the streams.
 */
export const STREAM_CLOCK_MARGIN_MS = 15 * 60_000

/**
 * The time before which compaction may fold entries. A drain that dies after its insert and before
 * its XDEL leaves the entries in their stream; the next drain inserts them again and relies on
 * `on conflict (entry_id) do nothing` to write nothing twice. A row folded away in between no longer
 * conflicts, so the entry would count twice. Compaction therefore never folds an entry that may still
 * wait in a stream: the cutoff is the older of the nominal one (USAGE_LEDGER_COMPACT_HOURS, longer than
 * the 24 h during which a usage call may be retried under its idempotency key) and the time of the
 * oldest entry waiting, read from Redis before the first batch and outside any transaction. Entries
 * appended after that read carry later times (a call is stamped moments before it is appended), so the
 * cutoff stays safe for the whole run.
 */
export function compactionCutoff (nominal: Date, oldestWaitingMs: number | null): Date {
  if (oldestWaitingMs === null) return nominal
  return new Date(Math.min(nominal.getTime(), oldestWaitingMs - STREAM_CLOCK_MARGIN_MS))
}

/**
 * The entry id of a window's folded row: the same for every compaction run, so a run adds to the row
 * an earlier one wrote. The user id is length-prefixed and the window start (a number) comes last, so
 * no two windows share a key. Random v4 entry ids never meet an md5-derived one in practice.
 */
const foldedId = (alias: string) => sql.raw(`md5(length(${alias}.user_id)::text || ':' || ${alias}.user_id || ':' || ${alias}.metric || ':' || ${alias}.window_start::text)::uuid`)

/**
 * Folds up to `limit` entries counted before `cutoff` into one row per (user, metric, window) holding
 * their sum, in one statement: the entries are deleted and their sum is added to the window's folded
 * row, so every total the ledger answers (`ledgerTotal`, overage reports) is the same before and after,
 * at every instant. Rows another transaction holds are skipped, never waited for; folded rows are
 * written in id order so two runs at once cannot deadlock on them. Answers how many entries it folded.
 */
export async function compactLedger (db: Db, cutoff: Date, limit: number): Promise<number> {
  const [row] = await db.execute<{ folded: number }>(sql`
    with picked as (
      select entry_id from usage_ledger
      where folded_entries is null and created_at < ${cutoff.toISOString()}::timestamptz
      order by created_at limit ${limit} for update skip locked
    ), gone as (
      delete from usage_ledger l using picked p where l.entry_id = p.entry_id
      returning l.user_id, l.metric, l.window_start, l.quantity, l.created_at
    ), sums as (
      select ${foldedId('gone')} as entry_id, user_id, metric, window_start,
        sum(quantity)::bigint as quantity, max(created_at) as created_at, count(*)::bigint as n
      from gone group by user_id, metric, window_start
    ), written as (
      insert into usage_ledger (entry_id, user_id, metric, window_start, quantity, idempotency_key, created_at, folded_entries)
      select entry_id, user_id, metric, window_start, quantity, null, created_at, n from sums order by entry_id
      on conflict (entry_id) do update set quantity = usage_ledger.quantity + excluded.quantity,
        folded_entries = usage_ledger.folded_entries + excluded.folded_entries,
        created_at = greatest(usage_ledger.created_at, excluded.created_at)
      returning 1
    )
    select (select count(*) from gone)::int as folded, (select count(*) from written)::int as windows`)
  return row?.folded ?? 0
}

/**
 * Stripe bills in periods of at most a year. A user's current window starts at their period's start,
 * or at its end once that has passed and the renewal is not known yet: never before
 * `current_period_end` less a year. A window is expired when it started before the retention cutoff
 * and is not within a year (with a few days to spare) before the period end of a user who has access,
 * or any window at all of a user with access and no period end. A customer on a Stripe test clock
 * counts in that clock's time, which may lie far from the host's: the entitlement check, not the age
 * alone, keeps their current window.
 */
const PERIOD_SECONDS = 370 * 86_400
const expired = (alias: string, cutoffSeconds: number) => sql`${sql.raw(alias)}.window_start < ${cutoffSeconds}
  and not exists (select 1 from entitlements e where e.user_id = ${sql.raw(alias)}.user_id and e.access
    and (e.current_period_end is null or ${sql.raw(alias)}.window_start >= extract(epoch from e.current_period_end)::bigint - ${PERIOD_SECONDS}))`

/**
 * Deletes up to `limit` folded rows of expired windows, then the sent meter reports of expired windows
 * the ledger holds nothing of any more. Only folded rows go: compaction folds entries days old and runs
 * first, so a window this old is one row; an entry folded late goes on a later run. A report goes only
 * after its window's rows: while they remain, the overage reporter
 * could otherwise take the missing chain for overage never reported and bill it again. Pending and
 * failed reports stay (money not settled). Answers the larger of the two counts, so the batch loop goes
 * on while either is full.
 */
export async function pruneLedgerWindows (db: Db, cutoff: Date, limit: number): Promise<number> {
  const cutoffSeconds = Math.floor(cutoff.getTime() / 1000)
  const rows = await db.execute(sql`delete from usage_ledger where entry_id in (
    select l.entry_id from usage_ledger l where l.folded_entries is not null and ${expired('l', cutoffSeconds)}
    order by l.window_start limit ${limit} for update of l skip locked) returning 1`)
  const reports = await db.execute(sql`delete from usage_meter_reports where identifier in (
    select r.identifier from usage_meter_reports r where r.status = 'sent' and ${expired('r', cutoffSeconds)}
      and not exists (select 1 from usage_ledger l where l.user_id = r.user_id and l.metric = r.metric and l.window_start = r.window_start)
    order by r.window_start limit ${limit} for update of r skip locked) returning 1`)
  return Math.max(rows.length, reports.length)
}
