import { createHmac } from 'node:crypto'
import type { WebSocket } from 'ws'
import { randomToken } from '../ids.js'
import { webhookHeaders } from '../webhooks/sign.js'
import { LATEST_VERSION } from '../versions/names.js'
import type { Obj } from '../store.js'

/** What the CLI reported back after forwarding one event to its local endpoint. */
export interface CliResponse {
  event_id: string
  forward_url: string
  status: number
  at: string
}

interface Session {
  id: string
  /** Echoed by the CLI in its acknowledgements and responses. */
  webhookId: string
  secret: string
  deviceName: string
  createdAt: number
  socket: WebSocket | null
  everConnected: boolean
  connections: number
  /** Events held while the CLI reconnects, signed when sent. */
  held: Variant[][]
  expiry: NodeJS.Timeout | null
  responses: CliResponse[]
}

/** One rendering of an event; `endpointVersion` null means the account's default version. */
interface Variant {
  payload: string
  endpointVersion: string | null
}

export interface HubOptions {
  /** The event's body in one API version. */
  payload: (event: Obj, version: string) => string
  reconnectDelaySeconds: number
  log: (...args: unknown[]) => void
}

// The CLI closes with this reason every `reconnect_delay` seconds and dials again at once.
const RESET_REASON = 'Resetting the connection'
const GRACE_MS = 30_000
const UNUSED_SESSION_MS = 60_000
const MAX_HELD = 1000
const MAX_RESPONSES = 1000

/**
 * The sessions of `stripe listen`. Stripe renders each event twice for a CLI session, in the
 * account's default version (`endpoint.api_version: null`) and in the latest one, and the CLI
 * keeps the one its `--latest` flag asks for. Events go only to sessions connected when they
 * happen (or reconnecting), never to a later listener.
 */
export class StripeCliHub {
  private readonly sessions = new Map<string, Session>()

  constructor (private readonly opts: HubOptions) {}

  /**
   * A new session. The signing secret depends only on the API key and the device name, so it is
   * the same for every `stripe listen` of one device (and `--print-secret` prints it), as with Stripe.
   */
  createSession (input: { apiKey: string, deviceName: string }): { session: Session, reconnectDelay: number } {
    this.pruneUnused()
    const secret = `whsec_${createHmac('sha256', 'tollgate-emulator-stripecli').update(`${input.apiKey}\n${input.deviceName}`).digest('hex')}`
    const session: Session = {
      id: `wss_${randomToken(24)}`,
      webhookId: `we_cli_${randomToken(20)}`,
      secret,
      deviceName: input.deviceName,
      createdAt: Date.now(),
      socket: null,
      everConnected: false,
      connections: 0,
      held: [],
      expiry: null,
      responses: []
    }
    this.sessions.set(session.id, session)
    return { session, reconnectDelay: this.opts.reconnectDelaySeconds }
  }

  has (id: unknown): id is string {
    return typeof id === 'string' && this.sessions.has(id)
  }

  /** Listeners with an open or reconnecting session, by device name (for tests and debugging). */
  listeners (): Array<{ id: string, device_name: string, connected: boolean, connections: number, responses: CliResponse[] }> {
    return [...this.sessions.values()]
      .filter((s) => s.everConnected)
      .map((s) => ({ id: s.id, device_name: s.deviceName, connected: s.socket !== null, connections: s.connections, responses: s.responses }))
  }

  attach (id: string, socket: WebSocket): void {
    const session = this.sessions.get(id)
    if (!session) {
      socket.close(1008, 'Unknown WebSocket ID.')
      return
    }
    session.socket?.terminate()
    session.socket = socket
    session.everConnected = true
    session.connections += 1
    if (session.expiry) clearTimeout(session.expiry)
    session.expiry = null
    for (const variants of session.held.splice(0)) this.send(session, variants)
    socket.on('message', (data) => this.receive(session, String(data)))
    socket.on('close', (_code, reason) => this.detached(session, socket, String(reason)))
    this.opts.log('stripe listen connected', session.deviceName)
  }

  publish (event: Obj): void {
    if (this.sessions.size === 0) return
    let variants: Variant[] | undefined
    for (const session of this.sessions.values()) {
      if (!session.everConnected) continue
      variants ??= this.variants(event)
      if (session.socket) this.send(session, variants)
      else if (session.held.length < MAX_HELD) session.held.push(variants)
    }
  }

  close (): void {
    for (const session of this.sessions.values()) this.end(session)
  }

  private variants (event: Obj): Variant[] {
    return [
      { payload: this.opts.payload(event, event.api_version), endpointVersion: null },
      { payload: this.opts.payload(event, LATEST_VERSION), endpointVersion: LATEST_VERSION }
    ]
  }

  private send (session: Session, variants: Variant[]): void {
    const socket = session.socket
    if (!socket || socket.readyState !== socket.OPEN) {
      if (session.held.length < MAX_HELD) session.held.push(variants)
      return
    }
    for (const v of variants) {
      socket.send(JSON.stringify({
        type: 'webhook_event',
        webhook_id: session.webhookId,
        webhook_conversation_id: `wc_${randomToken(24)}`,
        event_payload: v.payload,
        http_headers: webhookHeaders(v.payload, [session.secret]),
        endpoint: { api_version: v.endpointVersion }
      }))
    }
  }

  private receive (session: Session, text: string): void {
    let msg: Obj
    try {
      msg = JSON.parse(text)
    } catch {
      return
    }
    if (msg.type !== 'webhook_response') return
    session.responses.push({ event_id: String(msg.notification_id ?? ''), forward_url: String(msg.forward_url ?? ''), status: Number(msg.status), at: new Date().toISOString() })
    if (session.responses.length > MAX_RESPONSES) session.responses.shift()
  }

  // The periodic reset is followed at once by a reconnect with the same id, so events are held
  // meanwhile. Any other close ends the session: an exiting CLI may not finish its closing
  // handshake (1006 as often as 1000), and after a dropped connection the CLI authorizes a new
  // session by itself (the same device keeps its secret).
  private detached (session: Session, socket: WebSocket, reason: string): void {
    if (session.socket !== socket) return
    session.socket = null
    if (reason !== RESET_REASON) {
      this.end(session)
      return
    }
    session.expiry = setTimeout(() => this.end(session), GRACE_MS)
  }

  private end (session: Session): void {
    if (session.expiry) clearTimeout(session.expiry)
    session.socket?.close(1001, 'Stripe emulator closing')
    session.socket = null
    this.sessions.delete(session.id)
    this.opts.log('stripe listen session ended', session.deviceName)
  }

  // `--print-secret` creates a session it never connects to.
  private pruneUnused (): void {
    const cutoff = Date.now() - UNUSED_SESSION_MS
    for (const s of this.sessions.values()) {
      if (!s.everConnected && s.createdAt < cutoff) this.sessions.delete(s.id)
    }
  }
}
