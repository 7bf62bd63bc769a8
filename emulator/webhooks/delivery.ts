import http from 'node:http'
import https from 'node:https'
import { webhookHeaders } from './sign.js'
import { NO_CHAOS, type Chaos } from './chaos.js'
import type { Obj } from '../store.js'

export interface Endpoint {
  id: string
  url: string
  secrets: string[]
  enabled_events: string[]
  /** The version its events are rendered in; null: the version each event was created in. */
  api_version: string | null
}

export interface DeliveryRecord {
  event_id: string
  type: string
  endpoint_id: string
  endpoint_url: string
  attempt: number
  copy: number
  status: number | null
  error: string | null
  outcome: 'delivered' | 'failed' | 'dropped' | 'simulated_failure'
  at: string
}

export interface DeliveryOptions {
  retryBaseMs: number
  maxAttempts: number
  timeoutMs: number
  random: () => number
  /** The body one endpoint receives for an event. */
  payload: (event: Obj, endpoint: Endpoint) => string
}

export function endpointWants (endpoint: Endpoint, type: string): boolean {
  return endpoint.enabled_events.some((e) => e === '*' || e === type)
}

// Delivery never runs inside the API call: everything is scheduled on timers, retried with
// doubling backoff, and each attempt is signed at its own send time.
export class Deliverer {
  readonly records: DeliveryRecord[] = []
  chaos: Chaos = { ...NO_CHAOS }
  private timers = new Set<NodeJS.Timeout>()
  private inFlight = new Set<http.ClientRequest>()
  private closed = false

  constructor (private readonly opts: DeliveryOptions) {}

  dispatch (event: Obj, endpoints: Endpoint[]): void {
    for (const endpoint of endpoints) {
      const payload = this.opts.payload(event, endpoint)
      if (this.opts.random() < this.chaos.drop_rate) {
        this.record(event, endpoint, 1, 1, { status: null, error: 'dropped by chaos', outcome: 'dropped' })
        continue
      }
      const copies = this.opts.random() < this.chaos.duplicate_rate ? 2 : 1
      for (let copy = 1; copy <= copies; copy++) {
        const hold = this.chaos.shuffle_window_ms > 0 ? this.opts.random() * this.chaos.shuffle_window_ms : 0
        this.schedule(hold, () => this.attempt(event, endpoint, payload, 1, copy))
      }
    }
  }

  pending (): number {
    return this.timers.size + this.inFlight.size
  }

  reset (): void {
    this.cancelAll()
    this.records.length = 0
    this.chaos = { ...NO_CHAOS }
  }

  close (): void {
    this.closed = true
    this.cancelAll()
  }

  private cancelAll (): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const req of this.inFlight) req.destroy()
    this.inFlight.clear()
  }

  private schedule (delayMs: number, fn: () => void): void {
    if (this.closed) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      fn()
    }, delayMs)
    this.timers.add(timer)
  }

  private async attempt (event: Obj, endpoint: Endpoint, payload: string, attempt: number, copy: number): Promise<void> {
    let result: { status: number | null, error: string | null, outcome: DeliveryRecord['outcome'] }
    if (attempt === 1 && this.opts.random() < this.chaos.first_attempt_failure_rate) {
      result = { status: null, error: 'first attempt failed by chaos', outcome: 'simulated_failure' }
    } else {
      result = await this.send(endpoint, payload)
    }
    if (this.closed) return
    this.record(event, endpoint, attempt, copy, result)
    if (result.outcome === 'delivered' || attempt >= this.opts.maxAttempts) return
    const delay = this.opts.retryBaseMs * 2 ** (attempt - 1)
    this.schedule(delay, () => this.attempt(event, endpoint, payload, attempt + 1, copy))
  }

  private send (endpoint: Endpoint, payload: string) {
    type Result = { status: number | null, error: string | null, outcome: DeliveryRecord['outcome'] }
    return new Promise<Result>((resolve) => {
      const url = new URL(endpoint.url)
      const client = url.protocol === 'https:' ? https : http
      const req = client.request(url, {
        method: 'POST',
        agent: false,
        timeout: this.opts.timeoutMs,
        headers: { ...webhookHeaders(payload, endpoint.secrets), 'Content-Length': Buffer.byteLength(payload) }
      })
      this.inFlight.add(req)
      const finish = (r: Result) => {
        this.inFlight.delete(req)
        resolve(r)
      }
      req.on('response', (res) => {
        res.resume()
        res.on('end', () => {
          const status = res.statusCode ?? 0
          const ok = status >= 200 && status < 300
          finish({ status, error: ok ? null : `HTTP ${status}`, outcome: ok ? 'delivered' : 'failed' })
        })
      })
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.opts.timeoutMs}ms`)))
      req.on('error', (err) => finish({ status: null, error: err.message, outcome: 'failed' }))
      req.end(payload)
    })
  }

  private record (event: Obj, endpoint: Endpoint, attempt: number, copy: number, r: Omit<DeliveryRecord, 'event_id' | 'type' | 'endpoint_id' | 'endpoint_url' | 'attempt' | 'copy' | 'at'>): void {
    this.records.push({
      event_id: event.id,
      type: event.type,
      endpoint_id: endpoint.id,
      endpoint_url: endpoint.url,
      attempt,
      copy,
      ...r,
      at: new Date().toISOString()
    })
  }
}
