import net from 'node:net'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { signBody } from '../helpers/env.js'

// A client that sends its headers and then trickles the body one byte a second must not hold a
// socket longer than the configured request timeout (15 s) plus Node's check interval.
t.test('a client trickling a webhook body is cut off within about 15 s', async t => {
  const { app } = await buildTestApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as net.AddressInfo).port
  const { ms, answer } = await new Promise<{ ms: number, answer: string }>(resolve => {
    const started = Date.now()
    let answer = ''
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`POST /api/v1/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nStripe-Signature: ${signBody('x')}\r\n\r\n{`)
    })
    const timer = setInterval(() => { if (!socket.destroyed) socket.write(' ') }, 1000)
    socket.on('data', (c: Buffer) => { answer += c.toString() })
    socket.on('error', () => {})
    socket.on('close', () => { clearInterval(timer); resolve({ ms: Date.now() - started, answer }) })
  })
  t.match(answer, /^HTTP\/1\.1 408/, 'answered 408 Request Timeout')
  t.ok(ms < 20_000, `cut off after ${ms} ms`)
})
