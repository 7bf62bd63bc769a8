import { createInterface } from 'node:readline/promises'
import { isMissingDatabase } from '../src/db/errors.js'
import { runMigrations } from '../src/db/migrate.js'
import { runScript } from './cli.js'
import { ensureDatabase } from './stack/database.js'

/**
 * `npm run db:migrate`: applies the committed migrations. When the database itself does not exist
 * it says so, and creates it with `--create-database` or after asking at a terminal.
 */
const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1))

async function mayCreate (url: string): Promise<boolean> {
  if (process.argv.includes('--create-database')) return true
  if (!process.stdin.isTTY) return false
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return /^y(es)?$/i.test((await rl.question(`Database "${databaseName(url)}" does not exist on ${new URL(url).host}. Create it now? [y/N] `)).trim())
  } finally {
    rl.close()
  }
}

await runScript('db:migrate', async config => {
  try {
    await runMigrations(config.DATABASE_URL)
  } catch (err) {
    if (!isMissingDatabase(err) || !await mayCreate(config.DATABASE_URL)) throw err
    await ensureDatabase(config.DATABASE_URL)
    console.log(`created database "${databaseName(config.DATABASE_URL)}"`)
    await runMigrations(config.DATABASE_URL)
  }
  console.log('migrations applied')
})
