import { sql } from 'drizzle-orm'
import type { Tx } from './client.js'

/**
 * Takes every key's transaction lock in one statement, in one global order (sorted), so two
 * transactions locking overlapping sets wait for each other instead of deadlocking. Keys are
 * namespaced (`subscription:…`, `user:…`) so a subscription id and a user id never share a lock.
 */
export async function lockKeys (tx: Tx, keys: Iterable<string>): Promise<void> {
  const sorted = [...new Set(keys)].sort()
  if (sorted.length === 0) return
  await tx.execute(sql`select count(pg_advisory_xact_lock(hashtextextended(k, 0)))
    from (select k from jsonb_array_elements_text(${JSON.stringify(sorted)}::jsonb) as k order by k collate "C") as ordered`)
}

/** Takes each key's transaction lock that no other transaction holds, without waiting; returns those taken. */
export async function tryLockKeys (tx: Tx, keys: Iterable<string>): Promise<Set<string>> {
  const unique = [...new Set(keys)]
  if (unique.length === 0) return new Set()
  const rows = await tx.execute<{ k: string }>(sql`select k from jsonb_array_elements_text(${JSON.stringify(unique)}::jsonb) as k
    where pg_try_advisory_xact_lock(hashtextextended(k, 0))`)
  return new Set([...rows].map(r => r.k))
}
