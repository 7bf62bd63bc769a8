import t from 'tap'
import { parseRedisUrl } from '../../src/queue/redis-url.js'

t.test('REDIS_URL names one server or a cluster by its seed nodes', async t => {
  t.same(parseRedisUrl('redis://:pw@10.0.0.1:6380/2'), { kind: 'single', url: 'redis://:pw@10.0.0.1:6380/2' })
  t.same(parseRedisUrl('rediss://cache.example.com:6380'), { kind: 'single', url: 'rediss://cache.example.com:6380' })
  t.same(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001'), {
    kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }], username: undefined, password: undefined, tls: false
  })
  t.same(parseRedisUrl('rediss+cluster://tollgate:p%40ss%3Aword@node-1.example.com:6379,[::1]:7002/'), {
    kind: 'cluster', nodes: [{ host: 'node-1.example.com', port: 6379 }, { host: '::1', port: 7002 }], username: 'tollgate', password: 'p@ss:word', tls: true
  }, 'credentials are URL-decoded, IPv6 nodes in brackets, TLS from the scheme')
  t.same(parseRedisUrl('redis+cluster://:secret@a:1'), { kind: 'cluster', nodes: [{ host: 'a', port: 1 }], username: undefined, password: 'secret', tls: false }, 'a password alone')

  for (const [bad, message] of [
    ['redis+cluster://', /must be redis\+cluster:/],
    ['redis+cluster://a:7000?tls=1', /must be redis\+cluster:/],
    ['redis+cluster://a:7000,,b:7001', /seed node ""/],
    ['redis+cluster://a:70000', /seed node "a:70000"/],
    ['redis+sentinel://a:26379', /must use redis:, rediss:, redis\+cluster: or rediss\+cluster:/],
    ['localhost:6379', /must use redis:/]
  ] as const) t.throws(() => parseRedisUrl(bad), message, bad)
})
