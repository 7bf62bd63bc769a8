import { spawnSync } from 'node:child_process'

/**
 * The modules a fresh process loads for an entry file (its static import graph, nothing run): a
 * synchronous load hook records every URL, then the entry is imported through tsx.
 */
export function modulesOf (entry: string): string[] {
  const script = `
    import { registerHooks } from 'node:module'
    const urls = []
    registerHooks({ load (url, context, next) { urls.push(url); return next(url, context) } })
    await import(${JSON.stringify(new URL(`../../${entry}`, import.meta.url).href)})
    process.stdout.write(JSON.stringify(urls))
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH } })
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout) as string[]
}
