import { authenticateIntent } from '../control/authenticate.js'
import { ApiError } from '../wire/errors.js'
import { parseForm } from '../wire/form.js'
import { escapeHtml, page } from './html.js'
import type { Ctx } from '../context.js'
import type { PageAnswer } from './types.js'

/** Where a PaymentIntent's or SetupIntent's `next_action` points: Stripe's 3-D Secure test page, reduced to its two buttons. */
export function authenticatePage (ctx: Ctx, method: string, intentId: string, rawBody: string): PageAnswer {
  const intent = ctx.store.get('payment_intents', intentId) ?? ctx.store.get('setup_intents', intentId)
  if (!intent) return { status: 404, html: page('Not found', '<h1>Nothing to authenticate</h1>') }
  if (method === 'POST') {
    const outcome = parseForm(rawBody).action === 'complete' ? 'succeeded' : 'failed'
    try {
      authenticateIntent(ctx, intentId, outcome)
    } catch (err) {
      if (!(err instanceof ApiError)) throw err
      return { status: err.status, html: page('Authenticate', `<p id="message" role="alert">${escapeHtml(err.message)}</p>`) }
    }
    return { status: 200, html: page('Authenticate', `<h1 id="done">Authentication ${outcome === 'succeeded' ? 'completed' : 'failed'}</h1>`) }
  }
  if (intent.status !== 'requires_action') {
    return { status: 410, html: page('Authenticate', `<h1 id="closed">Nothing to authenticate: ${escapeHtml(intent.status)}.</h1>`) }
  }
  return {
    status: 200,
    html: page('Authenticate', `<h1 id="challenge">3-D Secure test challenge</h1>
<form method="post" action="/authenticate/${escapeHtml(intentId)}">
<button id="authenticate-complete" type="submit" name="action" value="complete">Complete authentication</button>
<button id="authenticate-fail" type="submit" name="action" value="fail">Fail authentication</button>
</form>`)
  }
}
