import { apiKeyOf } from '../http/api.js'
import { badRequest, paramMissing } from '../wire/errors.js'
import { toList } from '../wire/form.js'
import { CLI_WEBSOCKET_PATH } from './websocket.js'
import { LATEST_VERSION } from '../versions/names.js'
import type { Route } from '../http/route.js'

// `stripe listen` (and `--print-secret`) authorizes a session here, then dials `websocket_url`
// on the host it reached the API at.
export const stripeCliRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/stripecli/sessions',
    handler: (ctx, req) => {
      const p = req.body
      if (!p.device_name) throw paramMissing('device_name')
      const features = toList(p.websocket_features)
      if (!features.includes('webhooks')) {
        throw badRequest('The emulator streams webhook events only: websocket_features must include `webhooks` (thin events are not emulated).', 'websocket_features')
      }
      const host = String(req.headers.host ?? new URL(ctx.baseUrl()).host)
      const { session, reconnectDelay } = ctx.stripeCli.createSession({ apiKey: apiKeyOf(String(req.headers.authorization)), deviceName: String(p.device_name) })
      return {
        default_version: ctx.apiVersion,
        device_token: '',
        display_connect_filter_warning: false,
        latest_version: LATEST_VERSION,
        reconnect_delay: reconnectDelay,
        secret: session.secret,
        websocket_authorized_feature: 'webhooks',
        websocket_id: session.id,
        websocket_url: `ws://${host}${CLI_WEBSOCKET_PATH}`
      }
    }
  }
]
