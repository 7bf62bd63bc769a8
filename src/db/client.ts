import postgres from 'postgres'
import { drizzle } from 'drizzle-orm/postgres-js'
import * as schema from './schema.js'

export type Db = ReturnType<typeof createDb>['db']

/** A transaction handle: a function taking one runs inside its caller's transaction. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

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
    // postgres.js otherwise asks every new connection for the array types first, and when Postgres
    // closes the connection during that query (a restart, a terminated session) the rejection goes
    // unhandled and takes the process down. Tollgate reads and writes no Postgres arrays.
    fetch_types: false,
    onnotice: () => {}
  })
  const db = drizzle(client(sql), { schema })
  return { db, sql, close: () => sql.end({ timeout: 5 }) }
}

type Sql = ReturnType<typeof postgres>

/** One transaction as postgres.js runs it; `over` once its begin() has settled: committed, rolled back or lost with its connection. */
interface TxState { over: boolean }

/**
 * The client drizzle gets: postgres.js with two changes.
 *
 * Prepared statements. Drizzle runs every query as an unnamed statement, which postgres.js sends in
 * two round trips when it has parameters (parse + describe, wait, then bind + execute). Asking for a
 * named prepared statement instead makes every repeat of a query text one round trip on that
 * connection. Applying one event runs about ten queries, so this halves its Postgres round trips;
 * drizzle's own transactions and savepoints get the same client. (Behind PgBouncer in transaction
 * mode this needs its prepared-statement support, 1.21+.)
 *
 * Transactions whose connection closed. postgres.js (3.4.9, the latest) goes on handing a
 * transaction's statements to its connection after the connection closed (Postgres restarted, the
 * session was terminated, the network reset): its own ROLLBACK once the callback throws the error of
 * the statement that was in flight, and any statement the callback issues in the gap between the
 * close and its noticing. On the closed connection that write throws a TypeError (`nextWrite` in
 * postgres/src/connection.js) from a setImmediate or, unhandled, from inside the query: no caller can
 * catch it, so the process goes down; and a process that swallowed it would find that pooled
 * connection unable to connect again (the aborted write stays buffered ahead of every later startup
 * message). On a connection the pool has reopened meanwhile, the statements would run in another
 * session, outside the transaction. No transaction waits on anything but Postgres (no Stripe
 * call runs inside one), which keeps the gap short, not closed: test/db/client.test.ts fails without this.
 * So once postgres.js has given up on a transaction (its begin() rejected, which the caller sees),
 * nothing more of it reaches the driver: its queries fail at once, and the callback's outcome is
 * never handed back, so postgres.js sends neither ROLLBACK nor COMMIT. Postgres rolls back the
 * transaction of a connection that dropped.
 */
function client<T extends Sql> (sql: T, tx?: TxState): T {
  return new Proxy(sql, {
    apply (target, thisArg, args) {
      return tx?.over ? transactionOver() : Reflect.apply(target, thisArg, args)
    },
    get (target, prop, receiver) {
      if (prop === 'unsafe') {
        return (query: string, params?: unknown[], options?: Record<string, unknown>) =>
          tx?.over ? transactionOver() : target.unsafe(query, params as never, { ...options, prepare: true })
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: Sql) => Promise<unknown>
          const original = Reflect.get(target, prop) as (...a: unknown[]) => Promise<unknown>
          // A savepoint lives and dies with its transaction's connection.
          const state = prop === 'begin' ? { over: false } : tx!
          const done = original.apply(target, [...args, (inner: Sql) => outcome(state, () => fn(client(inner, state)))])
          return prop === 'begin' ? done.finally(() => { state.over = true }) : done
        }
      }
      return Reflect.get(target, prop, receiver)
    }
  })
}

/** The callback's outcome for postgres.js to commit or roll back, unless the transaction is over by then. */
async function outcome<R> (tx: TxState, callback: () => Promise<R>): Promise<R> {
  try {
    const result = await callback()
    return tx.over ? await never() : result
  } catch (err) {
    // A broken connection can fail the query in flight before its socket's close reaches postgres.js
    // (later in the same turn of the event loop, after the setImmediate callbacks). Look again in the
    // next turn: handing the error back before would have postgres.js queue a ROLLBACK that the close
    // then strands in the connection's buffer, in front of every later startup message.
    await new Promise(resolve => setTimeout(resolve, 0))
    if (tx.over) return await never()
    throw err
  }
}

const never = () => new Promise<never>(() => {})

/** What a query of a transaction that is over answers, in the shape drizzle uses (awaited, or `.values()` first). */
function transactionOver () {
  const failed = Promise.reject(Object.assign(new Error('the transaction is over (committed, rolled back or its connection lost)'), { code: 'TRANSACTION_OVER' }))
  failed.catch(() => {})
  return Object.assign(failed, { values: () => failed, raw: () => failed })
}
