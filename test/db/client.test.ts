import net from 'node:net'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import t, { type Test } from 'tap'
import { createDb } from '../../src/db/client.js'
import { createTestDatabase, PG_ADMIN_URL, waitFor } from '../helpers/env.js'

// A transaction whose connection breaks (Postgres restarted, the session terminated, the network
// reset) must fail for its caller and nothing else: no uncaught error from the driver (tap fails the file on one), none of
// its statements on another session, and the pool still connecting afterwards. Each case uses a
// pool of one connection, so the connection that closed is the one used next.

const url = await createTestDatabase(t)
const dbName = new URL(url).pathname.slice(1)
const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
t.teardown(() => admin.end())
const setup = postgres(url, { max: 1, onnotice: () => {} })
await setup`create table probe (n int not null)`
await setup.end()

function pool (t: Test) {
  const db = createDb(url, { max: 1 })
  t.teardown(() => db.close())
  return db
}

type Db = ReturnType<typeof createDb>['db']
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

async function backendPid (tx: Tx): Promise<number> {
  const [row] = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`)
  return row!.pid
}

async function terminate (pid: number): Promise<void> {
  const [row] = await admin`select pg_terminate_backend(${pid}) as ok`
  if (!row!.ok) throw new Error(`backend ${pid} was not terminated`)
}

/**
 * The pool answers promptly: a connection left unable to send its startup message would time out
 * after 5 s. One answer may be the terminated session's own error: postgres.js hands the FATAL the
 * server sent with a query in flight to the next query on that connection, which callers retry.
 */
async function poolWorks (t: Test, db: Db): Promise<void> {
  const started = Date.now()
  const select = () => db.execute<{ ok: number }>(sql`select 1 as ok`)
  const rows = await select().catch(async err => {
    t.match(err, { cause: { code: '57P01' } }, 'the terminated session\'s error, once')
    return await select()
  })
  t.equal(rows[0]!.ok, 1, 'the pool serves the next query')
  t.ok(Date.now() - started < 2000, `promptly (${Date.now() - started} ms)`)
}

async function probeRows (): Promise<number> {
  const c = postgres(url, { max: 1, onnotice: () => {} })
  try { return (await c`select count(*)::int as n from probe`)[0]!.n } finally { await c.end() }
}

t.test('connection closed under a query in flight: the transaction fails, nothing else does', async t => {
  const { db } = pool(t)
  let pid = 0
  const transaction = db.transaction(async tx => {
    pid = await backendPid(tx)
    await tx.execute(sql`insert into probe values (1)`)
    await tx.execute(sql`select pg_sleep(30)`)
  })
  transaction.catch(() => {})
  await waitFor(async () => pid && (await admin`select 1 from pg_stat_activity where pid = ${pid} and query like '%pg_sleep%'`).length > 0, 'the sleep to run')
  await terminate(pid)
  await t.rejects(transaction, { code: 'CONNECTION_CLOSED' }, 'the caller gets the closed connection')
  await poolWorks(t, db)
  t.equal(await probeRows(), 0, 'its insert rolled back')
})

t.test('connection closed while the callback awaits something else: its next query fails and runs nowhere', async t => {
  const { db } = pool(t)
  let pid = 0
  let release!: () => void
  const elsewhere = new Promise<void>(resolve => { release = resolve })
  let late: unknown
  const transaction = db.transaction(async tx => {
    pid = await backendPid(tx)
    await elsewhere
    try {
      await tx.execute(sql`insert into probe values (2)`)
    } catch (err) {
      late = err
      throw err
    }
  })
  transaction.catch(() => {})
  await waitFor(() => pid, 'the transaction to begin')
  // The pool's only connection is taken: this query waits and reopens it once it closed.
  const waiting = db.execute(sql`select 2 as n`)
  await terminate(pid)
  await t.rejects(transaction, { code: 'CONNECTION_CLOSED' }, 'the caller gets the closed connection')
  t.same(await waiting, [{ n: 2 }], 'the waiting query ran on the reopened connection')
  release()
  await waitFor(() => late, 'the late insert to be answered')
  t.match(late, { cause: { code: 'TRANSACTION_OVER' } }, 'the late insert fails at once')
  await poolWorks(t, db)
  t.equal(await probeRows(), 0, 'and did not run in the session the pool reopened')
})

t.test('connection closed during its first query: that query fails, nothing else does', async t => {
  const { db } = pool(t)
  // Catalog lookups in this database wait while the lock is held, so the new session's first query
  // (postgres.js's own array-type query unless it is told not to ask) is in flight when it is terminated.
  const locker = postgres(url, { max: 1, onnotice: () => {} })
  t.teardown(() => locker.end())
  let unlock!: () => void
  const locked = new Promise<void>(resolve => { unlock = resolve })
  let held = false
  const holding = locker.begin(async tx => {
    await tx`lock table pg_catalog.pg_type in access exclusive mode`
    held = true
    await locked
  })
  await waitFor(() => held, 'the catalog lock')
  const first = db.execute(sql`select 1 as ok`)
  first.catch(() => {})
  const [waiting] = await waitFor(async () => {
    const rows = await admin`select pid from pg_stat_activity where datname = ${dbName} and wait_event_type = 'Lock'`
    return rows.length > 0 && rows
  }, 'the first query to wait for the catalog')
  await terminate(waiting!.pid)
  unlock()
  await holding
  await t.rejects(first, 'the first query fails')
  await poolWorks(t, db)
})

t.test('connection reset under a query in flight: the transaction fails, nothing else does', async t => {
  // A proxy between the pool and Postgres resets the client's socket (RST), as a network fault does.
  const sockets = new Set<net.Socket>()
  const proxy = net.createServer(client => {
    const upstream = net.connect(Number(new URL(url).port || 5432), new URL(url).hostname)
    client.pipe(upstream).pipe(client)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => { sockets.delete(client); upstream.destroy() })
    sockets.add(client)
  })
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => { for (const s of sockets) s.destroy(); proxy.close(resolve) }))
  const via = new URL(url)
  via.hostname = '127.0.0.1'
  via.port = String((proxy.address() as net.AddressInfo).port)
  const db = createDb(via.toString(), { max: 1 })
  t.teardown(() => db.close())
  let pid = 0
  const transaction = db.db.transaction(async tx => {
    pid = await backendPid(tx)
    await tx.execute(sql`insert into probe values (6)`)
    await tx.execute(sql`select pg_sleep(30)`)
  })
  transaction.catch(() => {})
  await waitFor(async () => pid && (await admin`select 1 from pg_stat_activity where pid = ${pid} and query like '%pg_sleep%'`).length > 0, 'the sleep to run')
  for (const s of sockets) s.resetAndDestroy()
  await t.rejects(transaction, 'the caller gets the reset connection')
  await poolWorks(t, db.db)
  // The proxy's upstream is gone, but the sleep would hold its backend for the rest of its 30 s.
  await admin`select pg_terminate_backend(${pid})`
})

t.test('transactions still commit, roll back and refuse use after their end', async t => {
  const { db } = pool(t)
  let kept: Tx | undefined
  await db.transaction(async tx => {
    kept = tx
    await tx.execute(sql`insert into probe values (3)`)
  })
  t.equal(await probeRows(), 1, 'committed')
  await t.rejects(db.transaction(async tx => {
    await tx.execute(sql`insert into probe values (4)`)
    throw new Error('changed my mind')
  }), { message: 'changed my mind' })
  t.equal(await probeRows(), 1, 'rolled back')
  await t.rejects(kept!.execute(sql`insert into probe values (5)`), { cause: { code: 'TRANSACTION_OVER' } }, 'a finished transaction runs nothing')
  t.equal(await probeRows(), 1, 'nothing ran outside it')
})
