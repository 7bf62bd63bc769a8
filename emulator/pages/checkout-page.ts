import { completeCheckout, DECLINING_CARD, PAYING_CARD } from '../billing/checkout.js'
import { parseForm } from '../wire/form.js'
import { escapeHtml, page } from './html.js'
import type { Ctx } from '../context.js'
import type { PageAnswer } from './types.js'

function render (ctx: Ctx, session: Record<string, any>, message = ''): string {
  const details = ctx.store.sessionDetails.get(session.id)
  const lines = (details?.lineItems ?? [])
    .map((li) => {
      const price = ctx.store.get('prices', li.price)
      const product = price && ctx.store.get('products', price.product)
      return `<li>${li.quantity} × ${escapeHtml(product?.name ?? li.price)} — ${((price?.unit_amount ?? 0) / 100).toFixed(2)} ${escapeHtml(price?.currency?.toUpperCase())} / ${escapeHtml(price?.recurring?.interval)}</li>`
    })
    .join('')
  return page(
    'Checkout',
    `<h1>Subscribe</h1><ul id="line-items">${lines}</ul>
${message ? `<p id="message" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/checkout/${escapeHtml(session.id)}">
<label for="card-number">Card number</label>
<input id="card-number" name="card_number" inputmode="numeric" autocomplete="cc-number" value="" placeholder="4242 4242 4242 4242">
<button id="pay" type="submit" name="action" value="pay">Pay</button>
<button id="decline" type="submit" name="action" value="decline">Decline</button>
</form>
<p class="note">${PAYING_CARD.replace(/(\d{4})(?=\d)/g, '$1 ')} pays, ${DECLINING_CARD.replace(/(\d{4})(?=\d)/g, '$1 ')} declines.</p>`
  )
}

export function checkoutPage (ctx: Ctx, method: string, sessionId: string, rawBody: string): PageAnswer {
  const session = ctx.store.get('checkout_sessions', sessionId)
  if (!session) return { status: 404, html: page('Not found', '<h1>Checkout Session not found</h1>') }
  if (session.status !== 'open') {
    return { status: 410, html: page('Checkout', `<h1 id="closed">This Checkout Session is ${escapeHtml(session.status)}.</h1>`) }
  }
  if (method === 'GET') return { status: 200, html: render(ctx, session) }
  const form = parseForm(rawBody)
  const card = String(form.card_number ?? '').replace(/\D/g, '')
  // "Decline" always declines; "Pay" declines too with the declining test card, like Stripe's.
  const declined = form.action === 'decline' || card === DECLINING_CARD
  if (!declined && card !== PAYING_CARD && card !== '') {
    return { status: 200, html: render(ctx, session, 'Your card number is invalid. Use a test card.') }
  }
  completeCheckout(ctx, session, declined ? 'declined' : 'paid')
  const target = declined ? session.cancel_url : session.success_url?.replace('{CHECKOUT_SESSION_ID}', session.id)
  if (!target) return { status: 200, html: page('Checkout', `<h1 id="done">${declined ? 'Payment declined' : 'Payment complete'}</h1>`) }
  return { status: 303, html: '', location: target }
}
