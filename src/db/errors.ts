/** SQLSTATE classes a retry does not heal: the configuration names something Postgres does not have. */
const MISCONFIGURED: Record<string, string> = {
  '3D000': 'create it (npm run db:migrate -- --create-database), or correct DATABASE_URL',
  28000: 'correct the user in DATABASE_URL',
  '28P01': 'correct the password in DATABASE_URL'
}

const CONNECTION = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED'])

interface Found { code: string, message: string }

/** The innermost error that carries a Postgres SQLSTATE or a connection code, under drizzle's "Failed query" wrapper. */
function rootOf (err: unknown): Found | null {
  let found: Found | null = null
  for (let e = err as { code?: unknown, message?: unknown, cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && typeof e.message === 'string') found = { code: e.code, message: e.message }
  }
  return found
}

/**
 * What went wrong with Postgres, in one line and without the query or its parameters (they may
 * hold personal data): `Postgres: database "tollgate" does not exist (create it …)`. Null when the
 * error did not come from Postgres or its connection.
 */
export function postgresCause (err: unknown): string | null {
  const root = rootOf(err)
  if (!root) return null
  if (CONNECTION.has(root.code)) return `Postgres is unreachable: ${root.message}`
  if (!/^[0-9A-Z]{5}$/.test(root.code)) return null
  const hint = MISCONFIGURED[root.code]
  return `Postgres: ${root.message}${hint ? ` (${hint})` : ''}`
}

/** True for errors that waiting does not cure: a missing database, an unknown user, a wrong password. */
export function isMisconfigured (err: unknown): boolean {
  const code = rootOf(err)?.code
  return code !== undefined && code in MISCONFIGURED
}

/** True when the database named in the URL does not exist on the server. */
export function isMissingDatabase (err: unknown): boolean {
  return rootOf(err)?.code === '3D000'
}

/** The error as one line for a log: the Postgres cause if there is one, else the message's first line. */
export function errorLine (err: unknown): string {
  return postgresCause(err) ?? String((err as Error)?.message ?? err).split('\n')[0]!
}
