import postgres from 'postgres'

/**
 * Creates the database named in `url` when it does not exist yet (`fresh`: drops it first), connecting
 * to `postgres` to do so.
 */
export async function ensureDatabase (url: string, fresh = false): Promise<void> {
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.slice(1))
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`DATABASE_URL names a database "${name}" the stack will not create; create it yourself`)
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    if (fresh) await sql.unsafe(`drop database if exists ${name} with (force)`)
    const found = await sql`select 1 from pg_database where datname = ${name}`
    if (found.length === 0) await sql.unsafe(`create database ${name}`)
  } catch (err) {
    throw new Error(`Postgres at ${admin.host}: ${(err as Error).message}`)
  } finally {
    await sql.end()
  }
}
