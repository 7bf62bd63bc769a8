import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { nullable } from '../wire/form.js'
import { paramMissing } from '../wire/errors.js'
import { getCustomer } from './customers.js'
import { P } from '../http/params.js'
import type { Route } from '../http/route.js'

export const billingPortalRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/billing_portal/sessions',
    params: { customer: P.str, locale: P.str, return_url: P.str, configuration: P.str },
    handler: (ctx, req) => {
      const p = req.body
      if (!p.customer) throw paramMissing('customer')
      const customer = getCustomer(ctx, String(p.customer), 'customer')
      const id = newId('bps')
      const session = fromTemplate(ctx.templates, 'portalSession', {
        configuration: 'bpc_emulator_default',
        created: ctx.now(customer),
        customer: customer.id,
        id,
        locale: nullable(p.locale) ?? null,
        return_url: nullable(p.return_url) ?? null,
        url: `${ctx.baseUrl()}/billing_portal/${id}`
      })
      ctx.store.put('portal_sessions', session)
      ctx.emit('billing_portal.session.created', session, { request: req.request })
      return session
    }
  }
]
