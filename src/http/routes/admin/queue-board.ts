import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import type { FastifyInstance } from 'fastify'
import type { Queues } from '../../../queue/queues.js'

/**
 * The queue dashboard (bull-board) at `path`, on the api's producer connection. Loaded on the first
 * request for it (`./queues.ts`), which has passed the admin token check by then.
 */
export async function registerQueueBoard (app: FastifyInstance, queues: Queues, path: string) {
  const serverAdapter = new FastifyAdapter()
  serverAdapter.setBasePath(path)
  createBullBoard({
    queues: Object.values(queues).map(q => new BullMQAdapter(q)),
    // @bull-board/fastify pins its own copy of @bull-board/api one patch apart from ours: the
    // classes match at runtime but their private fields make TypeScript see two types.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Tollgate queues' } }
  })
  await app.register(async scope => {
    // bull-board's page asks Google Fonts for IBM Plex: offline (or behind a strict egress policy)
    // that request hangs or fails, and it tells Google who opens the dashboard. Without the link the
    // page falls back to the browser's sans-serif and monospace fonts.
    scope.addHook('onSend', async (_req, reply, payload) => {
      if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload
      return payload.replace(GOOGLE_FONTS_LINK, '')
    })
    await scope.register(serverAdapter.registerPlugin())
  }, { prefix: path })
}

const GOOGLE_FONTS_LINK = /<link[^>]+href="https:\/\/fonts\.(?:googleapis|gstatic)\.com[^>]*>\s*/g
