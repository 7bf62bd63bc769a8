import { attemptPayment, createInvoice, finalizeInvoice } from './invoices.js';
import { periodEnd } from './build.js';
import { updateAndEmit, type RequestInfo } from '../events.js';
import type { Ctx } from '../context.js';
import type { Obj } from '../store.js';

interface DueWork {
  at: number;
  run: () => void;
}

const LIVE = new Set(['active', 'past_due', 'trialing']);

function openRetryInvoice(ctx: Ctx, sub: Obj): Obj | undefined {
  return [...ctx.store.collections.invoices.values()].find(
    (inv) => inv.status === 'open' && inv.next_payment_attempt !== null && inv.parent?.subscription_details?.subscription === sub.id,
  );
}

function renew(ctx: Ctx, sub: Obj): void {
  const oldStart = sub.items.data[0].current_period_start;
  const oldEnd = sub.items.data[0].current_period_end;
  updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => {
    for (const item of s.items.data) {
      item.current_period_start = item.current_period_end;
      item.current_period_end = periodEnd(item.price, item.current_period_start);
    }
    const invoice = createInvoice(ctx, { sub: s, billingReason: 'subscription_cycle', periodStart: oldStart, periodEnd: oldEnd, withItems: true });
    s.latest_invoice = invoice.id;
    ctx.emit('invoice.created', invoice);
  });
  const invoice = ctx.store.get('invoices', sub.latest_invoice)!;
  finalizeInvoice(ctx, invoice);
  settle(ctx, sub, invoice);
}

function settle(ctx: Ctx, sub: Obj, invoice: Obj): void {
  const paid = attemptPayment(ctx, invoice);
  if (paid && sub.status === 'past_due') {
    updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => (s.status = 'active'));
  } else if (!paid && invoice.next_payment_attempt === null) {
    endSubscription(ctx, sub, 'payment_failed');
  } else if (!paid && sub.status !== 'past_due') {
    updateAndEmit(ctx, 'customer.subscription.updated', sub, (s) => (s.status = 'past_due'));
  }
}

export function endSubscription(ctx: Ctx, sub: Obj, reason: string, request?: RequestInfo): void {
  const now = ctx.clock.now();
  sub.status = 'canceled';
  sub.ended_at = now;
  sub.canceled_at = sub.canceled_at ?? now;
  sub.cancellation_details = { ...sub.cancellation_details, reason: sub.cancellation_details.reason ?? reason };
  ctx.emit('customer.subscription.deleted', sub, { request });
}

function dueWork(ctx: Ctx): DueWork[] {
  const work: DueWork[] = [];
  for (const sub of ctx.store.collections.subscriptions.values()) {
    if (!LIVE.has(sub.status)) continue;
    const end = sub.items.data[0].current_period_end;
    work.push({
      at: end,
      run: () => (sub.cancel_at_period_end ? endSubscription(ctx, sub, 'cancellation_requested') : renew(ctx, sub)),
    });
    const retry = openRetryInvoice(ctx, sub);
    if (retry) work.push({ at: retry.next_payment_attempt, run: () => settle(ctx, sub, retry) });
  }
  return work;
}

// Steps the clock to each due moment in order, so events carry the time they would have
// happened at and a renewal never overtakes an earlier retry.
export function advanceClock(ctx: Ctx, seconds: number): number {
  const target = ctx.clock.now() + Math.max(0, Math.floor(seconds));
  for (let guard = 0; guard < 10_000; guard++) {
    const next = dueWork(ctx).sort((a, b) => a.at - b.at)[0];
    if (!next || next.at > target) break;
    ctx.clock.advanceTo(next.at);
    next.run();
  }
  ctx.clock.advanceTo(target);
  return ctx.clock.now();
}
