import { readFileSync } from 'node:fs'
import t from 'tap'
import { CLIENT_TYPES_FILE, clientTypesText, documentText, OPENAPI_FILE, openApiDocument } from '../../scripts/openapi/generate.js'

// CI's guard: a route schema changed without `npm run openapi` leaves the committed document and the
// client's types behind, and products would compile against an API that is not the one served.
const committed = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')

t.test('the committed OpenAPI document and client types are what the routes generate', async t => {
  const doc = await openApiDocument()
  const hint = 'run `npm run openapi` and commit the result'
  t.equal(documentText(doc), committed(OPENAPI_FILE), `${OPENAPI_FILE} is up to date (${hint})`)
  t.equal(await clientTypesText(doc), committed(CLIENT_TYPES_FILE), `${CLIENT_TYPES_FILE} is up to date (${hint})`)
})

t.test('the document covers every product route with the bearer scheme', async t => {
  const doc = JSON.parse(committed(OPENAPI_FILE))
  for (const path of ['/api/v1/create-checkout', '/api/v1/checkout/{session_id}', '/api/v1/entitlements/{user_id}', '/api/v1/subscriptions/change-plan',
    '/api/v1/subscriptions/cancel', '/api/v1/subscriptions/resume', '/api/v1/billing-portal', '/api/v1/plans']) {
    t.ok(doc.paths[path], path)
  }
  t.match(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer' } })
})
