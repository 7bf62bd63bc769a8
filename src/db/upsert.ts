import { getTableColumns, getTableName, sql, type SQL } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { Tx } from './client.js'

type Row<T extends PgTable> = Partial<T['$inferInsert']>

/**
 * Inserts many rows as one JSON parameter (`jsonb_populate_recordset` over the table's own row type):
 * one statement and one parameter whatever the row count, instead of a bound parameter per value, whose
 * building was a fifth of a busy worker's CPU. On a conflict on `target`, the `set` columns take the
 * new row's values, where `where` holds. Returns the `returning` column of the rows written.
 */
export async function upsertMany<T extends PgTable> (tx: Tx, table: T, rows: Array<Row<T>>, opts: {
  target: keyof T['$inferInsert'] & string
  set: ReadonlyArray<keyof T['$inferInsert'] & string>
  also?: Record<string, SQL>
  where?: SQL
  returning?: keyof T['$inferInsert'] & string
}): Promise<unknown[]> {
  if (rows.length === 0) return []
  const columns = getTableColumns(table) as Record<string, PgColumn>
  const keys = Object.keys(rows[0]!)
  const name = (k: string) => `"${columns[k]!.name}"`
  const list = sql.raw(keys.map(name).join(', '))
  const json = JSON.stringify(rows.map(r => Object.fromEntries(keys.map(k => [columns[k]!.name, (r as Record<string, unknown>)[k] ?? null]))))
  const sets = [...opts.set.map(k => sql.raw(`${name(k)} = excluded.${name(k)}`)), ...Object.entries(opts.also ?? {}).map(([k, v]) => sql`${sql.raw(name(k))} = ${v}`)]
  const table$ = sql.raw(`"${getTableName(table)}"`)
  const query = sql`insert into ${table$} (${list}) select ${list} from jsonb_populate_recordset(null::${table$}, ${json}::jsonb)
    on conflict (${sql.raw(name(opts.target))}) do update set ${sql.join(sets, sql`, `)}`
  if (opts.where) query.append(sql` where ${opts.where}`)
  if (opts.returning) query.append(sql.raw(` returning ${name(opts.returning)} as v`))
  const result = await tx.execute<{ v: unknown }>(query)
  return [...result].map(r => r.v)
}

/** One row per key: Postgres refuses an upsert that would touch the same row twice in one statement. */
export function lastPerKey<R> (rows: R[], key: (r: R) => string): R[] {
  return [...new Map(rows.map(r => [key(r), r])).values()]
}

export const at = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000))
export const seconds = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null)
