import { readFileSync } from 'node:fs'
import t from 'tap'
import { configSpec } from '../../src/config/spec.js'

// The README's configuration table is what operators read; it must name exactly the variables the
// config schema reads.
function readmeTableVariables (): string[] {
  const readme = readFileSync('README.md', 'utf8')
  const section = readme.split(/^## Configuration\s*$/m)[1]?.split(/^## /m)[0] ?? ''
  return [...section.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm)].map(m => m[1])
}

t.test('the README configuration table lists every variable of the config schema', async t => {
  const documented = new Set(readmeTableVariables())
  t.ok(documented.size > 0, 'the README has a configuration table under "## Configuration"')
  const missing = Object.keys(configSpec).filter(name => !documented.has(name))
  t.same(missing, [], 'variables read by the app but missing from the README table')
})

t.test('the README configuration table names no variable the app does not read', async t => {
  const stale = readmeTableVariables().filter(name => !(name in configSpec))
  t.same(stale, [], 'variables in the README table that the config schema does not know')
})

t.test('docker-compose.yml passes every variable through to the Tollgate containers', async t => {
  const compose = readFileSync('docker-compose.yml', 'utf8')
  // The containers listen on the port the compose file maps and its healthcheck and webhook URL use.
  const fixedInContainers = new Set(['PORT', 'HOST'])
  const missing = Object.keys(configSpec).filter(name => !fixedInContainers.has(name) && !new RegExp(`^\\s+${name}: \\$\\{${name}[:-]`, 'm').test(compose))
  t.same(missing, [], 'variables a .env cannot set in docker compose')
})
