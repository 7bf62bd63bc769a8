import type { FastifyInstance, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { lazyScope } from '../lazy-scope.js'

/** What the OpenAPI document reads from a route. */
type DocumentedRoute = Pick<RouteOptions, 'method' | 'url' | 'schema' | 'config'>

/**
 * The OpenAPI document of the api's routes at /docs/json (and /docs/yaml), with the UI at /docs.
 * Only developers open these, so nothing of them loads at start: this records each route's method,
 * url, schema and config as it is added (hence registered before the routes), and the first request
 * under /docs builds @fastify/swagger and its UI on a second instance, from those records.
 */
export default fp(async function openapi (app: FastifyInstance) {
  const routes: DocumentedRoute[] = []
  app.addHook('onRoute', ({ method, url, schema, config }) => {
    // HEAD copies and hidden routes are left out of the document.
    if (method !== 'HEAD' && !schema?.hide) routes.push({ method, url, schema, config })
  })
  lazyScope(app, '/docs', async () => {
    const [{ default: swagger }, { default: swaggerUi }, { productEventWebhooks }] = await Promise.all([
      import('@fastify/swagger'), import('@fastify/swagger-ui'), import('../product-event-schemas.js')
    ])
    return async inner => {
      await inner.register(swagger, {
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
      // The records stand in for the routes: documented, never called, so nothing is compiled for them.
      await inner.register(async records => {
        records.setValidatorCompiler(() => () => true)
        records.setSerializerCompiler(() => JSON.stringify)
        for (const route of routes) records.route({ ...route, exposeHeadRoute: false, handler: async () => null })
      })
      await inner.register(swaggerUi, { routePrefix: '/docs' })
    }
  })
}, { name: 'openapi' })
