import http from 'node:http'
import { handleApi, newRequestId } from './api.js'
import { handleControl } from '../control/routes.js'
import { checkoutPage } from '../pages/checkout-page.js'
import { portalPage } from '../pages/portal-page.js'
import { LATEST_VERSION } from '../versions/names.js'
import { authenticatePage } from '../pages/authenticate-page.js'
import type { Route } from './route.js'
import type { Ctx } from '../context.js'
import type { PageAnswer } from '../pages/types.js'

function readBody (req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function sendJson (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

function sendPage (res: http.ServerResponse, answer: PageAnswer): void {
  if (answer.location) {
    res.writeHead(answer.status, { Location: answer.location, 'Content-Length': 0 })
    res.end()
    return
  }
  res.writeHead(answer.status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(answer.html) })
  res.end(answer.html)
}

async function holdBack (ctx: Ctx): Promise<void> {
  if (ctx.latency.ms <= 0) return
  ctx.latency.waiting++
  await new Promise(resolve => setTimeout(resolve, ctx.latency.ms))
  ctx.latency.waiting--
}

// Plain node:http keeps the wire exact (raw form bodies, our own parser, Stripe's headers).
export function createRequestListener (ctx: Ctx, routes: Route[]) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = newRequestId()
    res.setHeader('Request-Id', requestId)
    const method = req.method ?? 'GET'
    const url = new URL(req.url ?? '/', 'http://emulator')
    try {
      const rawBody = await readBody(req)
      ctx.log(method, url.pathname)
      if (url.pathname.startsWith('/v1/')) {
        await holdBack(ctx)
        const answer = handleApi(ctx, routes, {
          method,
          path: url.pathname,
          query: url.search.slice(1),
          rawBody,
          headers: req.headers,
          requestId
        })
        // Always the latest version's shapes, whatever Stripe-Version the request names.
        sendJson(res, answer.status, answer.body, { 'Stripe-Version': LATEST_VERSION, ...answer.headers })
        return
      }
      if (url.pathname.startsWith('/_emulator/')) {
        const answer = handleControl(ctx, method, url.pathname, rawBody, url.search.slice(1))
        sendJson(res, answer.status, answer.body)
        return
      }
      const checkout = /^\/checkout\/([^/]+)$/.exec(url.pathname)
      if (checkout && (method === 'GET' || method === 'POST')) {
        sendPage(res, checkoutPage(ctx, method, decodeURIComponent(checkout[1]), rawBody))
        return
      }
      const challenge = /^\/authenticate\/([^/]+)$/.exec(url.pathname)
      if (challenge && (method === 'GET' || method === 'POST')) {
        sendPage(res, authenticatePage(ctx, method, decodeURIComponent(challenge[1]), rawBody))
        return
      }
      const portal = /^\/billing_portal\/([^/]+)$/.exec(url.pathname)
      if (portal && (method === 'GET' || method === 'POST')) {
        sendPage(res, portalPage(ctx, method, decodeURIComponent(portal[1]), rawBody))
        return
      }
      sendJson(res, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${url.pathname}).` } })
    } catch (err) {
      ctx.log('unhandled', err)
      if (!res.headersSent) sendJson(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred' } })
      else res.destroy()
    }
  }
}
