import t from 'tap';
import type Stripe from 'stripe';
import { DAY, seedCatalog, startEmulator, startReceiver, subscribe, waitFor } from './helpers.js';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const receiver = await startReceiver(t);
  const env = await startEmulator(t, { webhookUrl: receiver.url, webhookSecrets: ['whsec_test'] });
  const catalog = await seedCatalog(env.stripe);
  const flow = await subscribe(env, catalog.pro.id);
  return { receiver, env, ...catalog, ...flow };
}

const typesOf = async (stripe: Stripe) => (await stripe.events.list({ limit: 100 })).data.map((e) => e.type).reverse();

t.test('advancing the clock renews: new paid invoice and a subscription.updated with the new period', async (t) => {
  const { env, subscriptionId, receiver } = await setup(t);
  const before = await env.stripe.subscriptions.retrieve(subscriptionId);
  const oldEnd = before.items.data[0].current_period_end;
  await env.control('clock/advance', { seconds: 31 * DAY });
  const after = await env.stripe.subscriptions.retrieve(subscriptionId);
  t.equal(after.items.data[0].current_period_start, oldEnd);
  t.ok(after.items.data[0].current_period_end > oldEnd);
  const invoices = await env.stripe.invoices.list({ subscription: subscriptionId });
  t.equal(invoices.data.length, 2);
  t.equal(invoices.data[0].billing_reason, 'subscription_cycle');
  t.equal(invoices.data[0].status, 'paid');
  const updated = await waitFor(() => receiver.received.find((r) => r.event.type === 'customer.subscription.updated'));
  t.equal(updated.event.data.object.items.data[0].current_period_start, oldEnd);
  t.equal(updated.event.data.previous_attributes.items.data[0].current_period_end, oldEnd);
  t.equal(updated.event.created, oldEnd, 'events carry the emulated time they happened at');
  t.ok((await typesOf(env.stripe)).slice(-5).includes('invoice.paid'));
});

t.test('a failing customer goes past_due, is retried on schedule, then the subscription is deleted', async (t) => {
  const { env, subscriptionId, customerId } = await setup(t);
  await env.control(`customers/${customerId}/fail-payments`, { fail: true });
  await env.control('clock/advance', { seconds: 31 * DAY });
  let sub = await env.stripe.subscriptions.retrieve(subscriptionId);
  t.equal(sub.status, 'past_due');
  const [open] = (await env.stripe.invoices.list({ subscription: subscriptionId, status: 'open' })).data;
  t.ok(open.attempt_count >= 1);

  await env.control('clock/advance', { seconds: 20 * DAY });
  sub = await env.stripe.subscriptions.retrieve(subscriptionId);
  t.equal(sub.status, 'canceled');
  t.equal(sub.cancellation_details?.reason, 'payment_failed');
  const failed = (await env.stripe.events.list({ type: 'invoice.payment_failed', limit: 100 })).data.reverse();
  t.same(failed.map((e) => (e.data.object as Stripe.Invoice).attempt_count), [1, 2, 3, 4]);
  t.equal((failed[0].data.object as Stripe.Invoice).next_payment_attempt, failed[0].created + 3 * DAY);
  t.equal((failed[3].data.object as Stripe.Invoice).next_payment_attempt, null);
  const types = await typesOf(env.stripe);
  t.equal(types.at(-1), 'customer.subscription.deleted');
  t.same((await env.stripe.subscriptions.list({ customer: customerId })).data, [], 'canceled ones are hidden by default');
  t.equal((await env.stripe.subscriptions.list({ customer: customerId, status: 'canceled' })).data.length, 1);
});

t.test('a customer who recovers during retries returns to active', async (t) => {
  const { env, subscriptionId, customerId } = await setup(t);
  await env.control(`customers/${customerId}/fail-payments`, { fail: true });
  await env.control('clock/advance', { seconds: 31 * DAY });
  await env.control(`customers/${customerId}/fail-payments`, { fail: false });
  await env.control('clock/advance', { seconds: 4 * DAY });
  t.equal((await env.stripe.subscriptions.retrieve(subscriptionId)).status, 'active');
});

t.test('cancel_at_period_end ends the subscription at the period end', async (t) => {
  const { env, subscriptionId, receiver } = await setup(t);
  const updated = await env.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true });
  t.equal(updated.cancel_at, updated.items.data[0].current_period_end);
  const ev = await waitFor(() => receiver.received.find((r) => r.event.type === 'customer.subscription.updated'));
  t.same(ev.event.data.previous_attributes.cancel_at_period_end, false);
  t.match(ev.event.request.id, /^req_/);
  await env.control('clock/advance', { seconds: 31 * DAY });
  const sub = await env.stripe.subscriptions.retrieve(subscriptionId);
  t.equal(sub.status, 'canceled');
  t.equal(sub.ended_at, updated.items.data[0].current_period_end);
  t.equal((await env.stripe.invoices.list({ subscription: subscriptionId })).data.length, 1, 'no renewal invoice');
  await waitFor(() => receiver.received.find((r) => r.event.type === 'customer.subscription.deleted'));
});

t.test('DELETE cancels immediately', async (t) => {
  const { env, subscriptionId } = await setup(t);
  const canceled = await env.stripe.subscriptions.cancel(subscriptionId);
  t.equal(canceled.status, 'canceled');
  const [deleted] = (await env.stripe.events.list({ type: 'customer.subscription.deleted' })).data;
  t.match(deleted.request?.id, /^req_/);
});

t.test('changing the price with create_prorations creates proration lines billed at renewal', async (t) => {
  const { env, subscriptionId, business, pro } = await setup(t);
  await env.control('clock/advance', { seconds: 10 * DAY });
  const sub = await env.stripe.subscriptions.retrieve(subscriptionId);
  const item = sub.items.data[0];
  const changed = await env.stripe.subscriptions.update(subscriptionId, {
    items: [{ id: item.id, price: business.id }],
    proration_behavior: 'create_prorations',
  });
  t.equal(changed.items.data[0].id, item.id, 'same item, new price');
  t.equal(changed.items.data[0].price.id, business.id);
  const [updated] = (await env.stripe.events.list({ type: 'customer.subscription.updated', limit: 1 })).data;
  t.equal((updated.data.previous_attributes as any).items.data[0].price.id, pro.id);

  await env.control('clock/advance', { seconds: 25 * DAY });
  const [renewal] = (await env.stripe.invoices.list({ subscription: subscriptionId, limit: 1 })).data;
  const prorations = renewal.lines.data.filter((l) => l.parent?.subscription_item_details?.proration);
  t.equal(prorations.length, 2);
  const [credit, charge] = prorations.map((l) => l.amount).sort((a, b) => a - b);
  t.ok(credit < 0 && credit > -2000, `credit for unused Pro time (${credit})`);
  t.ok(charge > 0 && charge < 5000, `charge for remaining Business time (${charge})`);
  t.equal(renewal.total, credit + charge + 5000);
});

t.test('always_invoice bills the proration at once', async (t) => {
  const { env, subscriptionId, business } = await setup(t);
  const sub = await env.stripe.subscriptions.retrieve(subscriptionId);
  await env.stripe.subscriptions.update(subscriptionId, { items: [{ id: sub.items.data[0].id, price: business.id }], proration_behavior: 'always_invoice' });
  const [latest] = (await env.stripe.invoices.list({ subscription: subscriptionId, limit: 1 })).data;
  t.equal(latest.billing_reason, 'subscription_update');
  t.equal(latest.status, 'paid');
  t.equal(latest.lines.data.length, 2);
});

t.test('one advance over many subscriptions walks their due moments in time order, each on its own invoices', async (t) => {
  const env = await startEmulator(t);
  const { pro } = await seedCatalog(env.stripe);
  const subs: { subscriptionId: string; customerId: string; failing: boolean }[] = [];
  for (let i = 0; i < 12; i++) {
    const flow = await subscribe(env, pro.id, `c${i}@example.com`);
    const failing = i % 3 === 0;
    if (failing) await env.control(`customers/${flow.customerId}/fail-payments`, { fail: true });
    subs.push({ ...flow, failing });
    // Staggered starts: renewals and retries of different subscriptions interleave.
    await env.control('clock/advance', { seconds: DAY });
  }
  // Renewals within the first 31 days of each start, the failing ones' last retry 15 days later.
  await env.control('clock/advance', { seconds: 45 * DAY });

  const events: Stripe.Event[] = [];
  for await (const e of env.stripe.events.list({ limit: 100 })) events.push(e);
  events.reverse();
  const created = events.map((e) => e.created);
  t.same(created, [...created].sort((a, b) => a - b), 'events are recorded in the order of the moments they carry');
  for (const s of subs) {
    const sub = await env.stripe.subscriptions.retrieve(s.subscriptionId);
    const invoices = (await env.stripe.invoices.list({ subscription: s.subscriptionId, limit: 100 })).data;
    const failed = events.filter((e) => e.type === 'invoice.payment_failed' && (e.data.object as Stripe.Invoice).parent?.subscription_details?.subscription === s.subscriptionId);
    if (s.failing) {
      t.equal(sub.status, 'canceled', `${s.subscriptionId} ends after its last retry`);
      t.same(failed.map((e) => (e.data.object as Stripe.Invoice).attempt_count), [1, 2, 3, 4], 'four attempts on its renewal invoice');
      t.equal(new Set(failed.map((e) => (e.data.object as Stripe.Invoice).id)).size, 1);
      t.equal(invoices.length, 2, 'checkout and one renewal');
    } else {
      t.equal(sub.status, 'active');
      t.equal(failed.length, 0);
      t.ok(invoices.every((i) => i.status === 'paid'));
      t.equal(invoices.length, 2, 'checkout and one renewal');
    }
  }
});

t.test('a price whose period does not move forward renews once per advance instead of forever', async (t) => {
  const env = await startEmulator(t);
  const stuck = await env.stripe.prices.create({ currency: 'usd', unit_amount: 100, recurring: { interval: 'month', interval_count: 0 }, product_data: { name: 'Stuck' } });
  const { subscriptionId } = await subscribe(env, stuck.id);
  await env.control('clock/advance', { seconds: 31 * DAY });
  t.equal((await env.stripe.invoices.list({ subscription: subscriptionId })).data.length, 2);
});
