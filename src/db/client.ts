import postgres from 'postgres'
import { drizzle } from 'drizzle-orm/postgres-js'
import * as schema from './schema.js'

export type Db = ReturnType<typeof createDb>['db']

export interface DbOptions {
  /** Pool size per process; workers need about their concurrency, the api a handful. */
  max?: number
}

export function createDb (url: string, opts: DbOptions = {}) {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    // Fail a request instead of hanging while Postgres restarts; callers retry.
    connect_timeout: 5,
    idle_timeout: 30,
    onnotice: () => {}
  })
  const db = drizzle(preparedStatements(sql), { schema })
  return { db, sql, close: () => sql.end({ timeout: 5 }) }
}

type Sql = ReturnType<typeof postgres>

/**
 * Drizzle runs every query as an unnamed statement, which postgres.js sends in two round trips
 * when it has parameters (parse + describe, wait, then bind + execute). Asking for a named
 * prepared statement instead makes every repeat of a query text one round trip on that connection.
 * Applying one event runs about ten queries, so this halves its Postgres round trips; drizzle's own
 * transactions and savepoints get the same client. (Behind PgBouncer in transaction mode this needs
 * its prepared-statement support, 1.21+.)
 */
function preparedStatements<T extends Sql> (sql: T): T {
  return new Proxy(sql, {
    get (target, prop, receiver) {
      if (prop === 'unsafe') {
        return (query: string, params?: unknown[], options?: Record<string, unknown>) =>
          target.unsafe(query, params as never, { ...options, prepare: true })
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: Sql) => unknown
          const original = Reflect.get(target, prop) as (...a: unknown[]) => unknown
          return original.apply(target, [...args, (tx: Sql) => fn(preparedStatements(tx))])
        }
      }
      return Reflect.get(target, prop, receiver)
    }
  })
}
