import type { LightMyRequestResponse } from 'fastify'
import { createEmulator, type Emulator } from '../../emulator/index.js'
import { bootstrapCatalogue } from '../../src/stripe/bootstrap-catalogue.js'
import { buildTestApp, type TestApp } from './app.js'
import { API_KEY, WEBHOOK_SECRET } from './env.js'
import { freePort } from './redis-server.js'

type T = Parameters<typeof buildTestApp>[0]

export interface BillingTestApp extends TestApp {
  emulator: Emulator
  /** Calls an emulator control route (`/_emulator/...`). */
  control: (path: string, body?: unknown) => Promise<any>
  /** Injects an authenticated JSON request. */
  call: (method: 'GET' | 'POST', url: string, body?: unknown) => Promise<LightMyRequestResponse>
}

/**
 * An app whose Stripe is a fresh in-process emulator with the catalogue bootstrapped. With
 * `webhooks`, the app listens on a real port and the emulator delivers signed events to it.
 */
export async function buildBillingApp (t: T, env: Record<string, string> = {}, opts: { webhooks?: boolean } = {}): Promise<BillingTestApp> {
  const port = opts.webhooks ? await freePort() : undefined
  const emulator = createEmulator({
    webhookSecrets: [WEBHOOK_SECRET],
    retryBaseMs: 20,
    ...(port && { webhookUrl: `http://127.0.0.1:${port}/api/v1/webhook` })
  })
  const base = await emulator.listen(0)
  t.teardown(() => emulator.close())
  const built = await buildTestApp(t, { STRIPE_API_BASE: base, ...env })
  if (port) await built.app.listen({ port, host: '127.0.0.1' })
  await bootstrapCatalogue(built.deps.stripe, built.deps.catalogue)
  const control = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${base}/_emulator/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return await res.json()
  }
  const call: BillingTestApp['call'] = (method, url, body) => built.app.inject({
    method, url, headers: { authorization: `Bearer ${API_KEY}` }, ...(body !== undefined && { payload: body as Record<string, unknown> })
  })
  return { ...built, emulator, control, call }
}
