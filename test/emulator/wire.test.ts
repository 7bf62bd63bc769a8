import t from 'tap';
import Stripe from 'stripe';
import { parseForm } from '../../emulator/wire/form.js';
import { seedCatalog, startEmulator } from './helpers.js';

t.test('form parser nests brackets and indexes arrays like the SDK encodes them', async (t) => {
  const parsed = parseForm('line_items[0][price]=p1&line_items[0][quantity]=2&lookup_keys[0]=a&lookup_keys[1]=b&metadata[user_id]=u%201&expand[]=x&description=');
  t.same(parsed, { line_items: [{ price: 'p1', quantity: '2' }], lookup_keys: ['a', 'b'], metadata: { user_id: 'u 1' }, expand: ['x'], description: '' });
});

t.test('errors reach the SDK as the right classes', async (t) => {
  const { stripe, emulator } = await startEmulator(t);
  const err404 = await stripe.customers.retrieve('cus_missing').catch((e) => e);
  t.type(err404, Stripe.errors.StripeInvalidRequestError);
  t.equal(err404.statusCode, 404);
  t.equal(err404.code, 'resource_missing');
  t.match(err404.requestId, /^req_/);

  // The SDK refuses to send a request without a key, so the missing-key case goes through fetch.
  const noKey = await fetch(`${emulator.url}/v1/customers`).then(async (r) => ({ status: r.status, body: await r.json() }));
  t.equal(noKey.status, 401);
  t.equal((noKey.body as any).error.type, 'invalid_request_error');
  const live = new Stripe('sk_live_nope', { host: '127.0.0.1', port: emulator.port, protocol: 'http' });
  t.type(await live.customers.list().catch((e) => e), Stripe.errors.StripeAuthenticationError);
  const basic = await fetch(`${emulator.url}/v1/customers`, { headers: { authorization: `Basic ${Buffer.from('sk_test_curl:').toString('base64')}` } });
  t.equal(basic.status, 200, 'basic auth with the key as user name, as curl -u sends it');
});

t.test('idempotency: replay returns the stored answer, other params are refused', async (t) => {
  const { stripe } = await startEmulator(t);
  const first = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'k1' });
  const replay = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'k1' });
  t.equal(replay.id, first.id);
  t.equal(replay.lastResponse.headers['idempotent-replayed'], 'true');
  const mismatch = await stripe.customers.create({ email: 'b@example.com' }, { idempotencyKey: 'k1' }).catch((e) => e);
  t.type(mismatch, Stripe.errors.StripeIdempotencyError);
  t.equal(mismatch.statusCode, 400);
  t.equal((await stripe.customers.list()).data.length, 1, 'the replay created nothing');
});

t.test('prices: lookup_keys filter, expand, transfer_lookup_key', async (t) => {
  const { stripe } = await startEmulator(t);
  const { pro, business } = await seedCatalog(stripe);
  const found = await stripe.prices.list({ lookup_keys: ['pro_monthly', 'business_monthly'], active: true, expand: ['data.product'] });
  t.same(found.data.map((p) => p.id).sort(), [pro.id, business.id].sort());
  t.equal((found.data[0].product as Stripe.Product).name, 'Example SaaS');

  const duplicate = await stripe.prices.create({ product: pro.product as string, currency: 'usd', unit_amount: 2500, recurring: { interval: 'month' }, lookup_key: 'pro_monthly' }).catch((e) => e);
  t.type(duplicate, Stripe.errors.StripeInvalidRequestError);

  const pro2 = await stripe.prices.create({ product: pro.product as string, currency: 'usd', unit_amount: 2500, recurring: { interval: 'month' }, lookup_key: 'pro_monthly', transfer_lookup_key: true });
  const now = await stripe.prices.list({ lookup_keys: ['pro_monthly'] });
  t.same(now.data.map((p) => p.id), [pro2.id]);
  t.equal((await stripe.prices.retrieve(pro.id)).lookup_key, null);

  const archived = await stripe.prices.update(pro.id, { active: false });
  t.equal(archived.active, false);
  t.same((await stripe.prices.list({ active: true })).data.map((p) => p.id).sort(), [pro2.id, business.id].sort());
});

t.test('list pagination with starting_after, newest first', async (t) => {
  const { stripe } = await startEmulator(t);
  const created = [];
  for (let i = 0; i < 5; i++) created.push(await stripe.customers.create({ email: `c${i}@example.com` }));
  const page1 = await stripe.customers.list({ limit: 2 });
  t.same(page1.data.map((c) => c.email), ['c4@example.com', 'c3@example.com']);
  t.equal(page1.has_more, true);
  t.equal(page1.object, 'list');
  const page2 = await stripe.customers.list({ limit: 2, starting_after: page1.data[1].id });
  t.same(page2.data.map((c) => c.email), ['c2@example.com', 'c1@example.com']);
  const page3 = await stripe.customers.list({ limit: 2, starting_after: page2.data[1].id });
  t.same(page3.data.map((c) => c.email), ['c0@example.com']);
  t.equal(page3.has_more, false);
  const all: string[] = [];
  for await (const c of stripe.customers.list({ limit: 2 })) all.push(c.id);
  t.equal(all.length, 5, 'SDK auto-pagination walks every page');
  t.same((await stripe.customers.list({ email: 'c3@example.com' })).data.map((c) => c.id), [created[3].id]);
});

t.test('fail-api makes the next calls fail with 500 or 429', async (t) => {
  const { stripe, control } = await startEmulator(t);
  await control('fail-api', { status: 500, count: 1 });
  const e500 = await stripe.customers.create({ email: 'x@example.com' }).catch((e) => e);
  t.type(e500, Stripe.errors.StripeAPIError);
  t.equal(e500.statusCode, 500);
  await control('fail-api', { status: 429, count: 1 });
  t.type(await stripe.customers.list().catch((e) => e), Stripe.errors.StripeRateLimitError);
  t.ok((await stripe.customers.list()).data, 'calls succeed again once the count is used up');
});
