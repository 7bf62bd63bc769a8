import net from 'node:net'
import t from 'tap'
import { LINGER_MS } from '../../src/http/plugins/lingering-close.js'
import { buildTestApp } from '../helpers/app.js'
import { signBody } from '../helpers/env.js'

// A body far over the limit is refused with 413 before it is read. Many clients write the whole
// body before they read the answer; closing the socket under them made the kernel reset the
// connection and the 413 was lost. These clients do exactly that: they read nothing until every
// byte is written.

const BODY = 16 * 1024 * 1024
const CHUNK = 64 * 1024

interface Outcome { answer: string, error: string | null, socket: net.Socket }

/** Writes the head and `bytes` of body (chunked when `chunked`) without reading, then reads what came back. */
function sendUnread (port: number, head: string, bytes: number, chunked: boolean): Promise<Outcome> {
  return new Promise(resolve => {
    let answer = ''
    let error: string | null = null
    const socket = net.connect(port, '127.0.0.1')
    socket.pause()
    socket.on('error', err => { error ??= (err as NodeJS.ErrnoException).code ?? err.message })
    socket.on('data', (c: Buffer) => {
      answer += c.toString()
      if (/\r\n\r\n[\s\S]*\}$/.test(answer)) resolve({ answer, error, socket })
    })
    socket.on('close', () => resolve({ answer, error, socket }))
    socket.once('connect', async () => {
      socket.write(head)
      const chunk = Buffer.alloc(CHUNK, 0x20)
      for (let sent = 0; sent < bytes && !socket.destroyed; sent += CHUNK) {
        const ok = socket.write(chunked ? Buffer.concat([Buffer.from(`${CHUNK.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk)
        if (!ok) await new Promise(resolve => { socket.once('drain', resolve); socket.once('close', resolve) })
      }
      if (chunked && !socket.destroyed) socket.write('0\r\n\r\n')
      socket.resume()
    })
  })
}

const webhookHead = (framing: string) => `POST /api/v1/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${framing}\r\nStripe-Signature: ${signBody('{}')}\r\n\r\n`

t.test('a 16 MB webhook body written in full before reading still gets its 413, and the connection serves the next request', async t => {
  const { app } = await buildTestApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as net.AddressInfo).port
  for (const [framing, chunked] of [[`Content-Length: ${BODY}`, false], ['Transfer-Encoding: chunked', true]] as const) {
    const { answer, error, socket } = await sendUnread(port, webhookHead(framing), BODY, chunked)
    t.equal(error, null, `${framing}: no reset while the body was sent`)
    t.match(answer, /^HTTP\/1\.1 413 [\s\S]*"error":"payload_too_large"/, `${framing}: answered 413 with its error`)
    t.notMatch(answer, /connection: close/i, `${framing}: the connection stays open`)
    if (socket.destroyed) { t.fail(`${framing}: the connection was closed`); continue }
    // The same socket, now that the refused body is consumed.
    const next = await new Promise<string>(resolve => {
      let text = ''
      socket.on('data', (c: Buffer) => { text += c.toString(); if (/\r\n\r\n[\s\S]*\}$/.test(text)) resolve(text) })
      socket.on('close', () => resolve(text))
      socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    })
    t.match(next, /^HTTP\/1\.1 200 /, `${framing}: the next request on that connection is served`)
    socket.destroy()
  }
})

t.test('a client that never stops sending a refused body is dropped after the linger time', async t => {
  const { app } = await buildTestApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as net.AddressInfo).port
  const started = Date.now()
  let answer = ''
  const closedAfter = await new Promise<number>(resolve => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(webhookHead('Transfer-Encoding: chunked'))
      const chunk = Buffer.concat([Buffer.from('1000\r\n'), Buffer.alloc(0x1000, 0x20), Buffer.from('\r\n')])
      const pump = () => { while (!socket.destroyed && socket.write(chunk)); }
      socket.on('drain', pump)
      pump()
    })
    socket.on('data', (c: Buffer) => { answer += c.toString() })
    socket.on('error', () => {})
    socket.on('close', () => resolve(Date.now() - started))
  })
  t.match(answer, /^HTTP\/1\.1 413 /, 'it was answered 413 first')
  t.ok(closedAfter >= LINGER_MS - 500, `kept for the linger time: ${closedAfter} ms`)
  t.ok(closedAfter < LINGER_MS + 4_000, `then dropped, before the 15 s request timeout: ${closedAfter} ms`)
})
