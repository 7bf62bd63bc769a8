import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

export interface Received {
  webhookId: string
  type: string
  userId: string
  /** The seq Tollgate gave the event, read from the outbox by the test when it needs it. */
  body: Record<string, any>
  /** The answer this receiver gave. */
  status: number
}

/**
 * A product's endpoint: a real HTTP server that verifies every delivery with the official
 * `standardwebhooks` library against `secret` (a forged or unsigned one is answered 401 and
 * counted), then answers what `answer` says (default 204).
 */
export async function startReceiver (t: { teardown: (fn: () => unknown) => void }, secret: string) {
  const received: Received[] = []
  const rejected: string[] = []
  let answer: (body: Record<string, any>) => number = () => 204
  let verifier = new Webhook(secret)
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }
  const server = createServer((req, res) => {
    read(req).then(raw => {
      let body: Record<string, any>
      try {
        body = verifier.verify(raw, req.headers as Record<string, string>) as Record<string, any>
      } catch (err) {
        rejected.push((err as Error).message)
        res.writeHead(401).end('bad signature')
        return
      }
      const status = answer(body)
      received.push({ webhookId: String(req.headers['webhook-id']), type: body.type, userId: body.data.user_id, body, status })
      res.writeHead(status).end(status >= 300 ? 'not now' : '')
    }).catch(() => res.writeHead(500).end())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => { server.closeAllConnections(); server.close(resolve) }))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received,
    rejected,
    /** Accepted deliveries (2xx), in arrival order. */
    delivered: () => received.filter(r => r.status < 300),
    answerWith (fn: (body: Record<string, any>) => number) { answer = fn },
    verifyWith (next: string) { verifier = new Webhook(next) }
  }
}
