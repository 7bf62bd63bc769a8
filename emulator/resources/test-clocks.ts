import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { missing, paramMissing } from '../wire/errors.js'
import { nullable, toInt } from '../wire/form.js'
import { listEnvelope } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import { deleteTestClock, startAdvance } from '../billing/test-clocks.js'
import { deleteCustomer } from './customers.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Obj } from '../store.js'

const WEEK = 7 * 86_400

export function getTestClock (ctx: Ctx, id: string, param = 'id'): Obj {
  const clock = ctx.store.get('test_clocks', id)
  if (!clock) throw missing('test_helpers.test_clock', id, param)
  return clock
}

export const testClockRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/test_helpers/test_clocks',
    params: { frozen_time: P.int, name: P.str },
    handler: (ctx, req) => {
      const frozenTime = toInt(req.body.frozen_time)
      if (frozenTime === undefined) throw paramMissing('frozen_time')
      const created = ctx.now()
      const clock = fromTemplate(ctx.templates, 'testClock', {
        created,
        deletes_after: created + WEEK,
        frozen_time: frozenTime,
        id: newId('clock'),
        name: nullable(req.body.name) ?? null
      })
      ctx.store.put('test_clocks', clock)
      ctx.emit('test_helpers.test_clock.created', clock, { request: req.request })
      return clock
    }
  },
  { method: 'GET', path: '/v1/test_helpers/test_clocks/:id', params: {}, handler: (ctx, req) => getTestClock(ctx, req.params.id) },
  {
    method: 'GET',
    path: '/v1/test_helpers/test_clocks',
    params: LIST_PARAMS,
    handler: (ctx, req) => listEnvelope(ctx.store.newestFirst('test_clocks'), req.body, '/v1/test_helpers/test_clocks', 'test_helpers.test_clock')
  },
  {
    method: 'POST',
    path: '/v1/test_helpers/test_clocks/:id/advance',
    params: { frozen_time: P.int },
    handler: (ctx, req) => {
      const clock = getTestClock(ctx, req.params.id)
      const target = toInt(req.body.frozen_time)
      if (target === undefined) throw paramMissing('frozen_time')
      return startAdvance(ctx, clock, target, req.request)
    }
  },
  {
    method: 'DELETE',
    path: '/v1/test_helpers/test_clocks/:id',
    params: {},
    handler: (ctx, req) => deleteTestClock(ctx, getTestClock(ctx, req.params.id), req.request, (customer) => deleteCustomer(ctx, customer, { purge: true }))
  }
]
