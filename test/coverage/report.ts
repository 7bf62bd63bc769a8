import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { Report } from 'c8'

/**
 * Runs after `npm test` (posttest): reads the V8 coverage tap collected in `.tap/coverage` from the
 * test processes and every api, worker and script process they spawned, prints lines, branches and
 * functions per folder, and fails when `src/` is below its threshold. Files no test loaded count as
 * uncovered (`all`). Source maps (tsx's) map the figures back to the TypeScript lines.
 *
 * Node records tsx's source maps with `sourcesContent: [null]`, and v8-to-istanbul takes a one-entry
 * `sourcesContent` as the original source even when it is null: every TypeScript file would count as
 * one covered line. The copy read here drops those empty entries, so the sources are read from disk.
 */
const THRESHOLD = { lines: 97, branches: 88, functions: 97 }
const FOLDERS = ['src', 'emulator', 'scripts', 'workers', 'clients/typescript/src']

interface Totals { lines: [number, number], branches: [number, number], functions: [number, number] }
interface Summary { lines: { covered: number, total: number }, branches: { covered: number, total: number }, functions: { covered: number, total: number } }
interface CoverageMap { files: () => string[], fileCoverageFor: (file: string) => { toSummary: () => Summary } }

interface ProcessCoverage { 'source-map-cache'?: Record<string, { data?: { sourcesContent?: Array<string | null> } }> }
const copy = mkdtempSync(join(tmpdir(), 'tollgate-coverage-'))
process.on('exit', () => rmSync(copy, { recursive: true, force: true }))
for (const name of readdirSync('.tap/coverage').filter(n => n.endsWith('.json'))) {
  const coverage = JSON.parse(readFileSync(join('.tap/coverage', name), 'utf8')) as ProcessCoverage
  for (const entry of Object.values(coverage['source-map-cache'] ?? {})) {
    if (entry.data?.sourcesContent?.every(s => s === null)) delete entry.data.sourcesContent
  }
  writeFileSync(join(copy, name), JSON.stringify(coverage))
}

const report = new Report({
  tempDirectory: copy,
  reporter: [],
  all: true,
  src: FOLDERS,
  include: FOLDERS.map(f => `${f}/**`),
  // The client's schema.ts holds types only (generated from openapi.json): no line of it runs.
  exclude: ['**/*.d.ts', '**/*.d.mts', 'test/**', 'dist/**', 'node_modules/**', 'src/billing/plans.json', 'clients/typescript/src/schema.ts'],
  extension: ['.ts', '.mts', '.js', '.mjs'],
  excludeAfterRemap: true
}) as unknown as { getCoverageMapFromAllCoverageFiles: () => Promise<CoverageMap> }

const map = await report.getCoverageMapFromAllCoverageFiles()
const empty = (): Totals => ({ lines: [0, 0], branches: [0, 0], functions: [0, 0] })
const groups = new Map<string, Totals>()
const add = (name: string, s: Summary) => {
  const g = groups.get(name) ?? empty()
  for (const k of ['lines', 'branches', 'functions'] as const) g[k] = [g[k][0] + s[k].covered, g[k][1] + s[k].total]
  groups.set(name, g)
}
for (const file of map.files()) {
  const path = relative(process.cwd(), file).split(sep).join('/')
  const top = FOLDERS.find(f => path.startsWith(`${f}/`))
  if (!top) continue
  const summary = map.fileCoverageFor(file).toSummary()
  const rest = path.slice(top.length + 1).split('/')
  add(top === 'src' ? (rest.length > 1 ? `src/${rest[0]}` : 'src (top level)') : top, summary)
  if (top === 'src') add('src/ in all', summary)
}

const pct = ([covered, total]: [number, number]) => (total === 0 ? 100 : (100 * covered) / total)
const cell = (v: [number, number]) => `${pct(v).toFixed(1)} %`.padStart(10)
console.log(`\n${'folder'.padEnd(24)}${'lines'.padStart(10)}${'branches'.padStart(10)}${'functions'.padStart(11)}${'lines'.padStart(9)}`)
for (const [name, g] of [...groups].sort(([a], [b]) => (a === 'src/ in all' ? 1 : b === 'src/ in all' ? -1 : a.localeCompare(b)))) {
  console.log(`${name.padEnd(24)}${cell(g.lines)}${cell(g.branches)} ${cell(g.functions)}${String(g.lines[1]).padStart(9)}`)
}

const src = groups.get('src/ in all')
if (!src) {
  console.error('no coverage of src/ was found in .tap/coverage: run `npm test` first')
  process.exit(1)
}
const below = (['lines', 'branches', 'functions'] as const).filter(k => pct(src[k]) < THRESHOLD[k])
if (below.length > 0) {
  console.error(`src/ is below its coverage threshold: ${below.map(k => `${k} ${pct(src[k]).toFixed(1)} % < ${THRESHOLD[k]} %`).join(', ')}`)
  process.exit(1)
}
console.log(`src/ meets its threshold (lines ${THRESHOLD.lines} %, branches ${THRESHOLD.branches} %, functions ${THRESHOLD.functions} %)`)
