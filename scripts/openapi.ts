import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { CLIENT_TYPES_FILE, clientTypesText, documentText, OPENAPI_FILE, openApiDocument } from './openapi/generate.js'

/**
 * `npm run openapi`: writes the api's OpenAPI document and the typed client's types generated from
 * it. Both are committed; test/scripts/openapi.test.ts fails when either differs from what the code builds.
 */
const doc = await openApiDocument()
writeFileSync(OPENAPI_FILE, documentText(doc))
mkdirSync(dirname(CLIENT_TYPES_FILE), { recursive: true })
writeFileSync(CLIENT_TYPES_FILE, await clientTypesText(doc))
console.log(`wrote ${OPENAPI_FILE} and ${CLIENT_TYPES_FILE}`)
