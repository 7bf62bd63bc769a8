import type http from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { StripeCliHub } from './hub.js'

export const CLI_WEBSOCKET_PATH = '/stripecli/subscribe'

// Answers a refused upgrade the way the CLI reads it: a JSON error whose message it matches
// ("Unknown WebSocket ID." makes it authorize a new session).
function refuse (socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error' } })
  socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

/** Serves the websocket `stripe listen` dials after authorizing its session. */
export function attachCliWebsocket (server: http.Server, hub: StripeCliHub): void {
  // The CLI's messages are acknowledgements and its endpoint's (truncated) answers.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 })
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname
    if (path !== CLI_WEBSOCKET_PATH) {
      refuse(socket, 404, `Unrecognized request URL (GET: ${path}).`)
      return
    }
    const id = req.headers['websocket-id']
    if (!hub.has(id)) {
      refuse(socket, 400, 'Unknown WebSocket ID.')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => hub.attach(id, ws))
  })
}
