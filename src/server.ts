import closeWithGrace from 'close-with-grace'
import { loadConfigOrExit } from './config/index.js'
import { reportPostgres } from './db/startup-check.js'
import { createDeps } from './deps.js'
import { buildApp } from './http/app.js'
import { assertNoEviction, waitReady } from './queue/connections.js'

const config = loadConfigOrExit()

const deps = createDeps(config, { role: 'producer' })
const app = await buildApp({ deps })
try {
  await waitReady(deps.redis, 10_000)
  await assertNoEviction(deps.redis)
} catch (err) {
  app.log.fatal((err as Error).message)
  await deps.close()
  process.exit(1)
}

void reportPostgres(deps.db, app.log)

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
  await deps.close()
})

await app.listen({ port: config.PORT, host: config.HOST })
