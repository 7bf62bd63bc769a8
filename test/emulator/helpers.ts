import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { createEmulator, type EmulatorOptions } from '../../emulator/index.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
  event: any;
}

// Polls instead of sleeping: the condition decides, the deadline only bounds a failure.
export async function waitFor<T>(fn: () => T | Promise<T>, { timeout = 15000, interval = 10 } = {}): Promise<Exclude<T, false | 0 | 0n | '' | null | undefined>> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as Exclude<T, false | 0 | 0n | '' | null | undefined>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeout}ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A webhook receiver; `respond` decides the status per delivery (default 200). */
export async function startReceiver(t: Teardown, respond: (r: Received, n: number) => number = () => 200) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Received = { body, headers: req.headers, event: JSON.parse(body) };
      const status = respond(r, received.length);
      if (status >= 200 && status < 300) received.push(r);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`, received };
}

export async function startEmulator(t: Teardown, opts: EmulatorOptions = {}) {
  const emulator = createEmulator({ retryBaseMs: 20, ...opts });
  const url = await emulator.listen(0);
  t.teardown(() => emulator.close());
  const stripe = new Stripe('sk_test_emulator', { host: '127.0.0.1', port: emulator.port, protocol: 'http', maxNetworkRetries: 0 });
  const control = async (path: string, body?: unknown) => {
    const res = await fetch(`${url}/_emulator/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return { emulator, url, stripe, control };
}

export async function seedCatalog(stripe: Stripe) {
  const product = await stripe.products.create({ name: 'Example SaaS' });
  const pro = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 2000, recurring: { interval: 'month' }, lookup_key: 'pro_monthly', nickname: 'Pro (monthly)' });
  const business = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 5000, recurring: { interval: 'month' }, lookup_key: 'business_monthly' });
  return { product, pro, business };
}

/** Runs a paid checkout for a new customer and returns the session, subscription and customer ids. */
export async function subscribe(env: Awaited<ReturnType<typeof startEmulator>>, priceId: string, email = 'jenny@example.com') {
  const session = await env.stripe.checkout.sessions.create({
    mode: 'subscription',
    line_items: [{ price: priceId, quantity: 1 }],
    customer_email: email,
    client_reference_id: 'user_123',
    metadata: { userId: 'user_123' },
    subscription_data: { metadata: { userId: 'user_123' } },
    success_url: 'https://example.com/success?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://example.com/cancel',
  });
  const done = await env.control(`checkout/${session.id}/complete`, { outcome: 'paid' });
  return { session: done, subscriptionId: done.subscription as string, customerId: done.customer as string };
}

export const DAY = 86_400;
