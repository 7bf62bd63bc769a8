import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Stripe from 'stripe';
import { seedCatalog, startEmulator, subscribe } from './helpers.js';

// Stripe's published objects, vendored into test/fixtures/stripe: the contract for object shapes.
const FIXTURES = fileURLToPath(new URL('../fixtures/stripe/', import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(`${FIXTURES}${name}`, 'utf8'));

// Key paths present in one object and not the other; arrays compare their first elements and
// values that are null on either side are not descended into (null vs object is a value, not a shape).
function keyDiff(a: any, b: any, path = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b)) return a.length && b.length ? keyDiff(a[0], b[0], `${path.replace(/\.$/, '')}[0].`) : [];
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) || Array.isArray(b)) return [];
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!(k in a)) out.push(`missing ${path}${k}`);
    else if (!(k in b)) out.push(`extra ${path}${k}`);
    // Metadata keys are data, not shape.
    else if (k !== 'metadata' && k !== 'previous_attributes') out.push(...keyDiff(a[k], b[k], `${path}${k}.`));
  }
  return out;
}

t.test('key comparison notices missing and extra keys', async (t) => {
  t.same(keyDiff({ a: { b: 1 } }, { a: { b: 1, c: 2 }, d: [] }), ['missing a.c', 'missing d']);
  t.same(keyDiff({ l: [{ x: 1, y: 2 }] }, { l: [{ x: 1 }] }), ['extra l[0].y']);
});

t.test('emitted objects and events have the keys of Stripe’s fixtures', async (t) => {
  const env = await startEmulator(t);
  const { pro, product } = await seedCatalog(env.stripe);
  const { subscriptionId, customerId, session } = await subscribe(env, pro.id);
  const sub = await env.stripe.subscriptions.retrieve(subscriptionId);
  const raw = async (path: string) => (await fetch(`${env.url}/v1/${path}`, { headers: { authorization: 'Bearer sk_test_x' } })).json();

  const cases: [string, unknown, string][] = [
    ['subscription', await raw(`subscriptions/${subscriptionId}`), 'subscription.json'],
    ['invoice', await raw(`invoices/${sub.latest_invoice}`), 'invoice.json'],
    ['customer', await raw(`customers/${customerId}`), 'customer.json'],
    ['price', await raw(`prices/${pro.id}`), 'price.json'],
    ['product', await raw(`products/${product.id}`), 'product.json'],
    ['open checkout session', await raw(`checkout/sessions/${(await env.stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: pro.id, quantity: 1 }], success_url: 'https://example.com' })).id}`), 'checkout.session.json'],
    ['completed checkout session', await raw(`checkout/sessions/${session.id}`), 'checkout.session.completed-object.json'],
    ['billing portal session', await env.stripe.billingPortal.sessions.create({ customer: customerId, return_url: 'https://example.com' }), 'billing_portal.session.json'],
    ['price list', await raw('prices?lookup_keys[0]=pro_monthly'), 'list.prices.json'],
  ];
  const events = (await raw('events?limit=100')) as { data: Stripe.Event[] };
  for (const [type, file] of [
    ['invoice.paid', 'events/invoice.paid.json'],
    ['checkout.session.completed', 'events/checkout.session.completed.json'],
    ['customer.subscription.created', 'events/customer.subscription.created.json'],
  ]) {
    cases.push([`${type} event`, events.data.find((e) => e.type === type), file]);
  }
  await env.stripe.prices.update(pro.id, { active: false });
  cases.push(['price.updated event', (await raw('events?type=price.updated')).data[0], 'events/price.updated.json']);
  await env.stripe.subscriptions.update(subscriptionId, { items: [{ id: sub.items.data[0].id, price: (await seedSecond(env.stripe, product.id)).id }] });
  cases.push(['customer.subscription.updated event', (await raw('events?type=customer.subscription.updated')).data[0], 'events/customer.subscription.updated.json']);

  for (const [name, ours, file] of cases) {
    const expected = fixture(file);
    delete expected._comment;
    t.same(keyDiff(ours, expected), [], `${name} matches ${file}`);
  }
  const updated = cases.at(-1)![1] as Stripe.Event;
  t.same(Object.keys(updated.data.previous_attributes ?? {}), ['items'], 'previous_attributes names the changed items');
  t.equal(typeof (cases[3][1] as any).unit_amount_decimal, 'string', 'unit_amount_decimal is a string on the wire');
});

async function seedSecond(stripe: Stripe, product: string) {
  return stripe.prices.create({ product, currency: 'usd', unit_amount: 9900, recurring: { interval: 'month' } });
}

// Stripe's raw fixtures list every key of each object type: what the emulator serves has at least those.
const missingKeys = (ours: unknown, theirs: unknown) => keyDiff(ours, theirs).filter((d) => d.startsWith('missing'));

t.test('every object type served has at least the keys of Stripe’s raw fixture', async (t) => {
  const env = await startEmulator(t);
  const { pro } = await seedCatalog(env.stripe);
  const raw = async (path: string) => (await fetch(`${env.url}/v1/${path}`, { headers: { authorization: 'Bearer sk_test_x' } })).json();
  const clock = await env.stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.now() / 1000) });
  const customer = await env.stripe.customers.create({ email: 'shapes@example.com', test_clock: clock.id, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
  const sub = await env.stripe.subscriptions.create({ customer: customer.id, items: [{ price: pro.id }], expand: ['latest_invoice.payment_intent'] });
  const pi = (sub.latest_invoice as any).payment_intent as Stripe.PaymentIntent;
  const si = await env.stripe.setupIntents.create({ customer: customer.id, payment_method: 'pm_card_visa', confirm: true });
  const ii = await env.stripe.invoiceItems.create({ customer: customer.id, amount: 500, currency: 'usd' });
  const { session } = await subscribe(env, pro.id);
  const cases: [string, unknown, string][] = [
    ['payment_method', await raw(`payment_methods/${customer.invoice_settings.default_payment_method}`), 'payment_method'],
    ['payment_intent', await raw(`payment_intents/${pi.id}`), 'payment_intent'],
    ['setup_intent', await raw(`setup_intents/${si.id}`), 'setup_intent'],
    ['charge', await raw(`charges/${pi.latest_charge}`), 'charge'],
    ['invoiceitem', await raw(`invoiceitems/${ii.id}`), 'invoiceitem'],
    ['test clock', await raw(`test_helpers/test_clocks/${clock.id}`), 'test_helpers.test_clock'],
    ['checkout line item', (await raw(`checkout/sessions/${session.id}/line_items`)).data[0], 'item'],
    ['subscription', await raw(`subscriptions/${sub.id}`), 'subscription'],
    ['invoice', await raw(`invoices/${sub.latest_invoice && (sub.latest_invoice as Stripe.Invoice).id}`), 'invoice'],
    ['customer', await raw(`customers/${customer.id}`), 'customer'],
    ['deleted customer', await env.stripe.customers.del((await env.stripe.customers.create({})).id), 'deleted_customer'],
    ...await billingObjects(env, raw, customer.id, pro.id, sub.id),
  ];
  for (const [name, ours, file] of cases) {
    const expected = fixture(`raw/${file}.json`);
    t.same(missingKeys(ours, expected), [], `${name} has the keys of raw/${file}.json`);
  }
});

// Schedules, discounts and meters, as the API answers them.
async function billingObjects(env: Awaited<ReturnType<typeof startEmulator>>, raw: (path: string) => Promise<any>, customer: string, price: string, subscription: string): Promise<[string, unknown, string][]> {
  const schedule = await env.stripe.subscriptionSchedules.create({ from_subscription: subscription });
  const coupon = await env.stripe.coupons.create({ percent_off: 10, duration: 'forever' });
  const promo = await env.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id } });
  const discounted = await env.stripe.subscriptions.create({ customer, items: [{ price }], discounts: [{ promotion_code: promo.id }] });
  const meter = await env.stripe.billing.meters.create({ display_name: 'Requests', event_name: 'requests', default_aggregation: { formula: 'sum' } });
  const event = await env.stripe.billing.meterEvents.create({ event_name: 'requests', payload: { stripe_customer_id: customer, value: '3' }, identifier: 'shape-1' });
  const now = (await env.stripe.testHelpers.testClocks.list()).data[0]!.frozen_time;
  const start = now - (now % 60);
  const summaries = await raw(`billing/meters/${meter.id}/event_summaries?customer=${customer}&start_time=${start - 3600}&end_time=${start + 60}`);
  const adjustment = await env.stripe.billing.meterEventAdjustments.create({ event_name: 'requests', type: 'cancel', cancel: { identifier: event.identifier } });
  return [
    ['subscription schedule', await raw(`subscription_schedules/${schedule.id}`), 'subscription_schedule'],
    ['coupon', await raw(`coupons/${coupon.id}`), 'coupon'],
    ['promotion code', await raw(`promotion_codes/${promo.id}`), 'promotion_code'],
    ['discount', (await raw(`subscriptions/${discounted.id}?expand[]=discounts`)).discounts[0], 'discount'],
    ['plan', await raw(`plans/${price}`), 'plan'],
    ['billing meter', await raw(`billing/meters/${meter.id}`), 'billing.meter'],
    ['billing meter event', event, 'billing.meter_event'],
    ['billing meter event summary', summaries.data[0], 'billing.meter_event_summary'],
    ['billing meter event adjustment', adjustment, 'billing.meter_event_adjustment'],
  ];
}
