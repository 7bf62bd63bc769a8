import { loadConfig, ConfigError } from '../src/config/index.js'
import { runMigrations } from '../src/db/migrate.js'

try {
  const config = loadConfig()
  await runMigrations(config.DATABASE_URL)
  console.log('migrations applied')
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`)
  process.exit(1)
}
