/**
 * Where Redis is, from `REDIS_URL`: one server (`redis://`, `rediss://`, as ioredis reads them) or a
 * Redis Cluster named by seed nodes, `redis+cluster://[user:password@]host:port[,host:port…]`
 * (`rediss+cluster://` for TLS). A cluster has only database 0, so its URL has no path.
 */
export type RedisTarget =
  | { kind: 'single', url: string }
  | { kind: 'cluster', nodes: Array<{ host: string, port: number }>, username?: string, password?: string, tls: boolean }

const SINGLE = ['redis:', 'rediss:']
const CLUSTER = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/

export function parseRedisUrl (raw: string): RedisTarget {
  const cluster = CLUSTER.exec(raw)
  if (cluster) {
    const [, scheme, auth, hosts] = cluster
    const [username, password] = auth === undefined ? [] : splitAuth(auth)
    return { kind: 'cluster', nodes: hosts!.split(',').map(seedNode), username, password, tls: scheme === 'rediss' }
  }
  if (/^rediss?\+cluster:/.test(raw)) throw new Error('must be redis+cluster://[user:password@]host:port[,host:port…] with no path or query')
  let u: URL
  try { u = new URL(raw) } catch { throw new Error('must be a URL') }
  if (!SINGLE.includes(u.protocol)) throw new Error('must use redis:, rediss:, redis+cluster: or rediss+cluster:')
  return { kind: 'single', url: raw }
}

function splitAuth (auth: string): [string | undefined, string | undefined] {
  const colon = auth.indexOf(':')
  const [user, pass] = colon === -1 ? [auth, ''] : [auth.slice(0, colon), auth.slice(colon + 1)]
  return [decodeURIComponent(user) || undefined, decodeURIComponent(pass) || undefined]
}

function seedNode (hostPort: string): { host: string, port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(hostPort.trim())
  const port = Number(m?.[2])
  if (!m || port < 1 || port > 65535) throw new Error(`names a seed node "${hostPort}"; each must be host:port`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port }
}
