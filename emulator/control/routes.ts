import { advanceEveryone } from '../billing/test-clocks.js'
import { parseChaos } from '../webhooks/chaos.js'
import { ApiError, badRequest, missing } from '../wire/errors.js'
import { matchRoute } from '../http/route.js'
import { requireSupportedVersion } from '../versions/names.js'
import { completeFromControl, settleFromControl } from './checkout.js'
import { updateSettings } from './settings.js'
import { authenticateIntent } from './authenticate.js'
import { meterUsage } from './meters.js'
import type { Ctx } from '../context.js'

interface ControlRoute {
  method: 'GET' | 'POST'
  path: string
  handler: (ctx: Ctx, params: Record<string, string>, body: Record<string, any>) => unknown
}

// Test and demo hooks outside Stripe's namespace; JSON in, JSON out, no API key.
const routes: ControlRoute[] = [
  { method: 'POST', path: '/_emulator/checkout/:id/complete', handler: (ctx, params, body) => completeFromControl(ctx, params.id, body) },
  { method: 'POST', path: '/_emulator/checkout/:id/async', handler: (ctx, params, body) => settleFromControl(ctx, params.id, body) },
  { method: 'POST', path: '/_emulator/payment_intents/:id/authenticate', handler: (ctx, params, body) => authenticateIntent(ctx, params.id, body.outcome) },
  {
    method: 'POST',
    path: '/_emulator/clock/advance',
    handler: (ctx, _params, body) => {
      const seconds = Number(body.seconds)
      if (!Number.isFinite(seconds) || seconds < 0) throw badRequest('seconds must be a non-negative number', 'seconds')
      return { now: advanceEveryone(ctx, seconds) }
    }
  },
  { method: 'GET', path: '/_emulator/clock', handler: (ctx) => ({ now: ctx.clock.now() }) },
  { method: 'GET', path: '/_emulator/settings', handler: (ctx) => ctx.settings },
  { method: 'POST', path: '/_emulator/settings', handler: (ctx, _params, body) => updateSettings(ctx, body) },
  {
    // Upgrading the account's default version, as in Stripe's Workbench: later events use the new one.
    method: 'POST',
    path: '/_emulator/account',
    handler: (ctx, _params, body) => {
      ctx.apiVersion = requireSupportedVersion(String(body.api_version ?? ''), 'api_version')
      return { api_version: ctx.apiVersion }
    }
  },
  { method: 'GET', path: '/_emulator/account', handler: (ctx) => ({ api_version: ctx.apiVersion }) },
  {
    method: 'POST',
    path: '/_emulator/customers/:id/fail-payments',
    handler: (ctx, params, body) => {
      if (!ctx.store.get('customers', params.id)) throw missing('customer', params.id)
      if (body.fail === false) ctx.store.failingCustomers.delete(params.id)
      else ctx.store.failingCustomers.add(params.id)
      return { customer: params.id, fail: ctx.store.failingCustomers.has(params.id) }
    }
  },
  { method: 'GET', path: '/_emulator/meters/:id/usage', handler: (ctx, params, query) => meterUsage(ctx, params.id, query) },
  { method: 'GET', path: '/_emulator/meter_errors', handler: (ctx) => ({ data: ctx.store.meterErrors }) },
  { method: 'GET', path: '/_emulator/deliveries', handler: (ctx) => ({ data: ctx.deliverer.records, pending: ctx.deliverer.pending() }) },
  {
    method: 'POST',
    path: '/_emulator/chaos',
    handler: (ctx, _params, body) => {
      ctx.deliverer.chaos = parseChaos(body, ctx.deliverer.chaos)
      return ctx.deliverer.chaos
    }
  },
  {
    method: 'POST',
    path: '/_emulator/fail-api',
    handler: (ctx, _params, body) => {
      const status = Number(body.status ?? 500)
      if (![500, 502, 503, 409, 429].includes(status)) throw badRequest('status must be one of 500, 502, 503, 409, 429', 'status')
      ctx.failApi = { status, count: Math.max(0, Math.floor(Number(body.count ?? 1))) }
      return ctx.failApi
    }
  },
  {
    method: 'POST',
    path: '/_emulator/latency',
    handler: (ctx, _params, body) => {
      const ms = Number(body.ms)
      if (!Number.isFinite(ms) || ms < 0 || ms > 120_000) throw badRequest('ms must be a number from 0 to 120000', 'ms')
      ctx.latency.ms = Math.floor(ms)
      return ctx.latency
    }
  },
  { method: 'GET', path: '/_emulator/latency', handler: (ctx) => ctx.latency },
  {
    method: 'POST',
    path: '/_emulator/reset',
    handler: (ctx) => {
      ctx.background.close()
      ctx.store.reset()
      ctx.clock.reset()
      ctx.deliverer.reset()
      ctx.failApi = { status: 500, count: 0 }
      ctx.latency.ms = 0
      return { reset: true }
    }
  },
  {
    method: 'GET',
    path: '/_emulator/state',
    handler: (ctx) => ({ now: ctx.clock.now(), settings: ctx.settings, chaos: ctx.deliverer.chaos, fail_api: ctx.failApi, failing_customers: [...ctx.store.failingCustomers], ...ctx.store.dump() })
  }
]

/** GET routes take their input from the query string, POST routes from a JSON body. */
export function handleControl (ctx: Ctx, method: string, path: string, rawBody: string, query = ''): { status: number, body: unknown } {
  const matched = matchRoute(routes, method, path)
  if (!matched) return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unknown emulator route ${method} ${path}` } } }
  try {
    const body = method === 'GET' ? Object.fromEntries(new URLSearchParams(query)) : rawBody ? JSON.parse(rawBody) : {}
    return { status: 200, body: matched.route.handler(ctx, matched.params, body) }
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, body: err.body() }
    if (err instanceof SyntaxError) return { status: 400, body: { error: { type: 'invalid_request_error', message: 'Body must be JSON' } } }
    throw err
  }
}
