import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { lazyScope } from '../lazy-scope.js'
import { productEventWebhooks } from '../product-event-schemas.js'

/**
 * OpenAPI document generated from the route schemas, at /docs/json, with the UI at /docs. The
 * document is built on its first request; the UI (swagger-ui's assets, a static file server, a YAML
 * writer) loads on the first request under /docs, as a page only developers open.
 */
export default fp(async function openapi (app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Tollgate', description: 'Stripe subscriptions, checkout and entitlements for your product', version: '0.1.0' },
      // The events Tollgate sends to your product's endpoints (PRODUCT_WEBHOOK_URL). TypeBox schemas
      // are JSON Schema, which OpenAPI 3.1 takes as is; the plugin's types ask for its own schema type.
      webhooks: productEventWebhooks as never,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'One of API_KEYS' },
          adminAuth: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN (admin routes)' }
        }
      }
    }
  })
  lazyScope(app, '/docs', async () => {
    const { default: swaggerUi } = await import('@fastify/swagger-ui')
    // The UI's instance serves the document this one builds from its routes, once they are all in.
    return async inner => {
      await inner.register(swagger, { mode: 'static', specification: { document: app.swagger() as never } })
      await inner.register(swaggerUi, { routePrefix: '/docs' })
    }
  })
}, { name: 'openapi' })
