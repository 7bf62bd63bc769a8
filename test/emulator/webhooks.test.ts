import t from 'tap';
import Stripe from 'stripe';
import { seedCatalog, startEmulator, startReceiver, subscribe, waitFor } from './helpers.js';

const PAID_FLOW = [
  'customer.created',
  'customer.subscription.created',
  'invoice.created',
  'invoice.finalized',
  'invoice.paid',
  'invoice.payment_succeeded',
  'checkout.session.completed',
];

t.test('a paid checkout emits Stripe’s events, each signed with the endpoint secret', async (t) => {
  const receiver = await startReceiver(t);
  const env = await startEmulator(t);
  const endpoint = await env.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
  t.match(endpoint.secret, /^whsec_/);
  const { pro } = await seedCatalog(env.stripe);
  const { session, subscriptionId } = await subscribe(env, pro.id);

  const flow = await waitFor(() => {
    const types = receiver.received.map((r) => r.event.type).filter((type) => PAID_FLOW.includes(type));
    return types.length === PAID_FLOW.length ? types : undefined;
  });
  t.same(new Set(flow), new Set(PAID_FLOW));
  const { data: events } = await env.stripe.events.list({ limit: 100 });
  t.same(events.map((e) => e.type).filter((type) => PAID_FLOW.includes(type)).reverse(), PAID_FLOW, 'emitted in Stripe’s order');

  const verifier = new Stripe('sk_test_x');
  for (const r of receiver.received) {
    const event = verifier.webhooks.constructEvent(r.body, r.headers['stripe-signature'] as string, endpoint.secret!);
    t.equal(event.api_version, '2026-10-28.endive');
    t.equal(event.livemode, false);
    t.equal(r.headers['user-agent'], 'Stripe/1.0 (+https://stripe.com/docs/webhooks)');
    t.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  }
  const completed = receiver.received.find((r) => r.event.type === 'checkout.session.completed')!.event.data.object;
  t.equal(completed.client_reference_id, 'user_123');
  t.same(completed.metadata, { userId: 'user_123' });
  t.equal(completed.subscription, subscriptionId);
  t.same(receiver.received.find((r) => r.event.type === 'checkout.session.completed')!.event.request, { id: null, idempotency_key: null });

  const sub = await env.stripe.subscriptions.retrieve(subscriptionId, { expand: ['latest_invoice', 'customer', 'items.data.price.product'] });
  t.same(sub.metadata, { userId: 'user_123' });
  t.equal((sub.latest_invoice as Stripe.Invoice).parent?.subscription_details?.subscription, subscriptionId);
  t.equal((sub.customer as Stripe.Customer).email, 'jenny@example.com');
  t.equal((sub.items.data[0].price.product as Stripe.Product).name, 'Example SaaS');
  t.ok(sub.items.data[0].current_period_end > sub.items.data[0].current_period_start);
  const retrieved = await env.stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription'] });
  t.equal((retrieved.subscription as Stripe.Subscription).id, subscriptionId);

  const portal = await env.stripe.billingPortal.sessions.create({ customer: (sub.customer as Stripe.Customer).id, return_url: 'https://example.com/account' });
  t.equal((await fetch(portal.url)).status, 200);
});

t.test('several secrets from options each get a v1 signature; events caused by API calls carry the request', async (t) => {
  const receiver = await startReceiver(t);
  const env = await startEmulator(t, { webhookUrl: receiver.url, webhookSecrets: ['whsec_old', 'whsec_new'] });
  const product = await env.stripe.products.create({ name: 'P' }, { idempotencyKey: 'create-p' });
  const got = await waitFor(() => receiver.received.find((r) => r.event.type === 'product.created'));
  t.match(got.headers['stripe-signature'], /^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
  const verifier = new Stripe('sk_test_x');
  t.equal(verifier.webhooks.constructEvent(got.body, got.headers['stripe-signature'] as string, 'whsec_new').id, got.event.id);
  t.equal(verifier.webhooks.constructEvent(got.body, got.headers['stripe-signature'] as string, 'whsec_old').id, got.event.id);
  t.equal(got.event.request.idempotency_key, 'create-p');
  t.match(got.event.request.id, /^req_/);
  await env.stripe.products.update(product.id, { name: 'Q' });
  const updated = await waitFor(() => receiver.received.find((r) => r.event.type === 'product.updated'));
  t.equal(updated.event.data.previous_attributes.name, 'P');
});

t.test('a delivery answered with 500 is retried and then succeeds', async (t) => {
  const receiver = await startReceiver(t, (r, n) => (r.event.type === 'product.created' && n === 0 && !seen.has(r.event.id) ? (seen.add(r.event.id), 500) : 200));
  const seen = new Set<string>();
  const env = await startEmulator(t, { webhookUrl: receiver.url, webhookSecrets: ['whsec_test'] });
  await env.stripe.products.create({ name: 'P' });
  const got = await waitFor(() => receiver.received.find((r) => r.event.type === 'product.created'));
  // The receiver sees the body before the emulator has recorded the attempt's outcome.
  const attempts = await waitFor(() => {
    const a = env.emulator.deliveries().filter((d) => d.event_id === got.event.id);
    return a.some((d) => d.outcome === 'delivered') && a;
  });
  t.same(attempts.map((a) => [a.attempt, a.status, a.outcome]), [[1, 500, 'failed'], [2, 200, 'delivered']]);
});

t.test('an unreachable endpoint is retried with backoff up to the attempt limit', async (t) => {
  const env = await startEmulator(t, { webhookUrl: 'http://127.0.0.1:9/unreachable', webhookSecrets: ['whsec_x'], retryBaseMs: 5, maxAttempts: 4 });
  const product = await env.stripe.products.create({ name: 'P' });
  const { data } = await waitFor(async () => {
    const d = await env.control('deliveries');
    return d.data.length === 4 && d.pending === 0 && d;
  });
  t.ok(data.every((d: any) => d.status === null && d.error && d.type === 'product.created'));
  t.same(data.map((d: any) => d.attempt), [1, 2, 3, 4]);
  t.ok(product.id);
});

t.test('chaos: duplicates, reordering, failed first attempts and drops', async (t) => {
  const receiver = await startReceiver(t);
  const env = await startEmulator(t, { webhookUrl: receiver.url, webhookSecrets: ['whsec_test'] });
  await env.control('chaos', { duplicate_rate: 1, shuffle_window_ms: 200, first_attempt_failure_rate: 0 });
  const names = Array.from({ length: 12 }, (_, i) => `P${i}`);
  for (const name of names) await env.stripe.products.create({ name });
  await waitFor(() => receiver.received.length === names.length * 2);
  const ids = receiver.received.map((r) => r.event.id);
  t.equal(new Set(ids).size, names.length, 'every event arrived exactly twice');
  const order = receiver.received.map((r) => r.event.data.object.name);
  const firstSeen = order.filter((n, i) => order.indexOf(n) === i);
  t.not(JSON.stringify(firstSeen), JSON.stringify(names), 'shuffle delivered events out of order');

  await env.control('chaos', { duplicate_rate: 0, shuffle_window_ms: 0, first_attempt_failure_rate: 1 });
  const p = await env.stripe.products.create({ name: 'retry-me' });
  const triesOf = () => env.emulator.deliveries().filter((d) => d.type === 'product.created' && receiver.received.some((r) => r.event.id === d.event_id && r.event.data.object.id === p.id));
  // The receiver has the event before the emulator has read its answer and recorded the attempt.
  await waitFor(() => triesOf().some((d) => d.outcome === 'delivered'));
  t.same(triesOf().map((d) => d.outcome), ['simulated_failure', 'delivered']);

  await env.control('chaos', { first_attempt_failure_rate: 0, drop_rate: 1 });
  const dropped = await env.stripe.products.create({ name: 'never' });
  const events = await env.stripe.events.list({ type: 'product.created', limit: 1 });
  t.equal(events.data[0].data.object && (events.data[0].data.object as Stripe.Product).id, dropped.id, 'a dropped event is still listed for reconciliation');
  t.equal(env.emulator.deliveries().find((d) => d.event_id === events.data[0].id)?.outcome, 'dropped');
});

t.test('hosted checkout page pays with 4242 and redirects; 0002 is declined and the session stays open', async (t) => {
  const env = await startEmulator(t);
  const { pro } = await seedCatalog(env.stripe);
  const make = () =>
    env.stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: pro.id, quantity: 1 }],
      customer_email: 'page@example.com',
      success_url: 'https://example.com/ok?session_id={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://example.com/cancel',
    });
  const paid = await make();
  t.equal(paid.url, `${env.url}/checkout/${paid.id}`);
  const html = await (await fetch(paid.url!)).text();
  for (const id of ['card-number', 'pay', 'decline']) t.match(html, `id="${id}"`);
  const pay = await fetch(paid.url!, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'card_number=4242+4242+4242+4242&action=pay' });
  t.equal(pay.status, 303);
  t.equal(pay.headers.get('location'), `https://example.com/ok?session_id=${paid.id}`);
  const after = await env.stripe.checkout.sessions.retrieve(paid.id);
  t.equal(after.status, 'complete');
  t.equal(after.payment_status, 'paid');

  const declined = await make();
  const post = (body: string) => fetch(declined.url!, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  const decline = await post('card_number=4000000000000002&action=pay');
  t.equal(decline.status, 402);
  t.match(await decline.text(), /id="message"[^>]*>Your card was declined\./);
  const open = await env.stripe.checkout.sessions.retrieve(declined.id);
  t.match(open, { status: 'open', subscription: null }, 'the session stays open for another try');
  t.equal((await env.stripe.subscriptions.list({ status: 'all' })).data.length, 1, 'no subscription for the declined card');
  const retry = await post('card_number=4242424242424242&action=pay');
  t.equal(retry.status, 303, 'another card on the same session pays');
  t.equal((await env.stripe.checkout.sessions.retrieve(declined.id)).status, 'complete');
});
