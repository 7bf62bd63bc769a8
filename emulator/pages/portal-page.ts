import { previousAttributes } from '../events.js'
import { parseForm } from '../wire/form.js'
import { escapeHtml, page } from './html.js'
import type { Ctx } from '../context.js'
import type { PageAnswer } from './types.js'

// A minimal customer portal: enough for a demo user to cancel at period end and go back.
export function portalPage (ctx: Ctx, method: string, sessionId: string, rawBody: string): PageAnswer {
  const session = ctx.store.get('portal_sessions', sessionId)
  if (!session) return { status: 404, html: page('Not found', '<h1>Portal session not found</h1>') }
  const subs = ctx.store.newestFirst('subscriptions').filter((s) => s.customer === session.customer && s.status !== 'canceled')
  if (method === 'POST') {
    const form = parseForm(rawBody)
    const sub = subs.find((s) => s.id === form.subscription)
    if (sub) {
      const before = structuredClone(sub)
      const cancel = form.action === 'cancel'
      sub.cancel_at_period_end = cancel
      sub.cancel_at = cancel ? sub.items.data[0].current_period_end : null
      sub.canceled_at = cancel ? ctx.now(sub) : null
      sub.cancellation_details = { ...sub.cancellation_details, reason: cancel ? 'cancellation_requested' : null }
      const previous = previousAttributes(before, sub)
      if (Object.keys(previous).length > 0) ctx.emit('customer.subscription.updated', sub, { previous })
    }
    return { status: 303, html: '', location: `/billing_portal/${session.id}` }
  }
  const rows = subs
    .map((s) => {
      const item = s.items.data[0]
      const action = s.cancel_at_period_end ? 'renew' : 'cancel'
      return `<li>${escapeHtml(item.price.nickname ?? item.price.id)} — ${escapeHtml(s.status)}${s.cancel_at_period_end ? ' (ends at period end)' : ''}
<form method="post"><input type="hidden" name="subscription" value="${escapeHtml(s.id)}">
<button id="${action}-${escapeHtml(s.id)}" name="action" value="${action}">${action === 'cancel' ? 'Cancel at period end' : 'Keep subscription'}</button></form></li>`
    })
    .join('')
  const back = session.return_url ? `<a id="return" href="${escapeHtml(session.return_url)}">Return</a>` : ''
  return { status: 200, html: page('Billing portal', `<h1>Your subscriptions</h1><ul>${rows || '<li>None</li>'}</ul>${back}`) }
}
