import { collectsPaymentMethod, completeCheckout, dueToday, enterPromotionCode } from '../billing/checkout.js'
import { ApiError } from '../wire/errors.js'
import { cardByNumber, VISA, type TestCard } from '../billing/cards.js'
import { cardPaymentMethod } from '../billing/payment-methods.js'
import { checkoutLineItems } from '../render.js'
import { parseForm } from '../wire/form.js'
import { escapeHtml, page } from './html.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'
import type { PageAnswer } from './types.js'

const spaced = (n: string) => n.replace(/(\d{4})(?=\d)/g, '$1 ')
const AUTH_FAILED = 'We are unable to authenticate your payment method. Please choose a different payment method and try again.'

function render (ctx: Ctx, session: Obj, message = ''): string {
  const lines = checkoutLineItems(ctx, session)
    .map((li) => `<li>${li.quantity} × ${escapeHtml(li.description)} — ${(li.price.unit_amount / 100).toFixed(2)} ${escapeHtml(li.currency.toUpperCase())}${li.price.recurring ? ` / ${escapeHtml(li.price.recurring.interval)}` : ''}</li>`)
    .join('')
  const currency = escapeHtml(String(session.currency ?? '').toUpperCase())
  const discount = session.total_details?.amount_discount ? `<p id="discount">Discount: −${(session.total_details.amount_discount / 100).toFixed(2)} ${currency}</p>` : ''
  const due = session.mode === 'setup' ? '' : `${discount}<p id="due-today">Due today: ${(dueToday(ctx, session) / 100).toFixed(2)} ${currency}</p>`
  const code = session.allow_promotion_codes
    ? `<label for="promotion-code">Promotion code</label>
<input id="promotion-code" name="promotion_code" value="">
<button id="apply-code" type="submit" name="action" value="apply_code">Apply</button>`
    : ''
  const card = collectsPaymentMethod(ctx, session)
    ? `<label for="card-number">Card number</label>
<input id="card-number" name="card_number" inputmode="numeric" autocomplete="cc-number" value="" placeholder="${spaced(VISA.number)}">`
    : '<p id="no-card">No card needed today.</p>'
  const verb = session.mode === 'setup' ? 'Save card' : dueToday(ctx, session) === 0 ? 'Start trial' : 'Pay'
  return page(
    'Checkout',
    `<h1>${session.mode === 'setup' ? 'Save a payment method' : session.mode === 'payment' ? 'Pay' : 'Subscribe'}</h1><ul id="line-items">${lines}</ul>${due}
${message ? `<p id="message" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/checkout/${escapeHtml(session.id)}">
${code}
${card}
<button id="pay" type="submit" name="action" value="pay">${verb}</button>
<button id="decline" type="submit" name="action" value="decline">Decline</button>
</form>
<p class="note">${spaced(VISA.number)} pays, 4000 0000 0000 0002 declines, 4000 0027 6000 3184 asks for 3-D Secure.</p>`
  )
}

function challenge (session: Obj, number: string): string {
  return page('Authenticate', `<h1 id="challenge">3-D Secure test challenge</h1>
<form method="post" action="/checkout/${escapeHtml(session.id)}">
<input type="hidden" name="card_number" value="${escapeHtml(number)}">
<button id="authenticate-complete" type="submit" name="action" value="authenticate_complete">Complete authentication</button>
<button id="authenticate-fail" type="submit" name="action" value="authenticate_fail">Fail authentication</button>
</form>`)
}

function finish (ctx: Ctx, session: Obj, card: TestCard | null, authenticated = false): PageAnswer {
  const pm = card ? cardPaymentMethod(ctx, card) : null
  if (pm && authenticated) ctx.store.internal(pm.id).authenticated = true
  let result
  try {
    result = completeCheckout(ctx, session, pm)
  } catch (err) {
    // What the API would refuse (a promotion code used up since it was entered) the page shows.
    if (err instanceof ApiError) return { status: err.status, html: render(ctx, session, err.message) }
    throw err
  }
  if (result.decline) return { status: 402, html: render(ctx, session, String(result.decline.message)) }
  const target = session.success_url?.replace('{CHECKOUT_SESSION_ID}', session.id)
  if (!target) return { status: 200, html: page('Checkout', '<h1 id="done">Payment complete</h1>') }
  return { status: 303, html: '', location: target }
}

/** Stripe's hosted page, reduced: a test card number, 3-D Secure for the cards that ask for it, declines that leave the session open. */
export function checkoutPage (ctx: Ctx, method: string, sessionId: string, rawBody: string): PageAnswer {
  const session = ctx.store.get('checkout_sessions', sessionId)
  if (!session) return { status: 404, html: page('Not found', '<h1>Checkout Session not found</h1>') }
  if (session.status !== 'open') {
    return { status: 410, html: page('Checkout', `<h1 id="closed">This Checkout Session is ${escapeHtml(session.status)}.</h1>`) }
  }
  if (method === 'GET') return { status: 200, html: render(ctx, session) }
  const form = parseForm(rawBody)
  const code = String(form.promotion_code ?? '').trim()
  if (code) {
    try {
      enterPromotionCode(ctx, session, code)
    } catch (err) {
      if (err instanceof ApiError) return { status: 400, html: render(ctx, session, err.message) }
      throw err
    }
  }
  if (form.action === 'apply_code') return { status: 200, html: render(ctx, session) }
  const number = String(form.card_number ?? '').replace(/\D/g, '')
  if (form.action === 'decline') return finish(ctx, session, cardByNumber('4000000000000002')!)
  if (!collectsPaymentMethod(ctx, session)) return finish(ctx, session, null)
  const card = number === '' ? VISA : cardByNumber(number)
  if (!card) return { status: 200, html: render(ctx, session, 'Your card number is invalid. Use a test card.') }
  if (form.action === 'authenticate_fail') return { status: 402, html: render(ctx, session, AUTH_FAILED) }
  if (form.action === 'authenticate_complete') return finish(ctx, session, card, true)
  const asks = (session.mode === 'setup' || dueToday(ctx, session) === 0 ? card.setup : card.charge) === 'authenticates'
  return asks ? { status: 200, html: challenge(session, number) } : finish(ctx, session, card)
}
