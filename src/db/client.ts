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
  const db = drizzle(sql, { schema })
  return { db, sql, close: () => sql.end({ timeout: 5 }) }
}
