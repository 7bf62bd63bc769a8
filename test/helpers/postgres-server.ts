import { execFile, spawnSync } from 'node:child_process'
import { appendFileSync, chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './redis-server.js'

const run = promisify(execFile)
const BIN = process.env.TOLLGATE_PG_BIN ?? '/usr/lib/postgresql/15/bin'

/**
 * A private Postgres cluster on a spare port (trust auth, listening on 127.0.0.1 with its own socket
 * directory) for tests that restart the server without disturbing the shared one. initdb refuses to
 * run as root, so under root the cluster belongs to the `postgres` OS user.
 */
export class PostgresProcess {
  private readonly removeAtExit = () => { this.remove() }
  private constructor (readonly port: number, readonly dir: string, readonly host: string) {}

  /**
   * initdb into a temporary directory and start; `destroy()` stops it and deletes the directory.
   * `host` is the address it listens on (another than 127.0.0.1 for the several-host scenario, with
   * trust for every client).
   */
  static async start (opts: { host?: string, maxConnections?: number } = {}): Promise<PostgresProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'tg-pg-'))
    const host = opts.host ?? '127.0.0.1'
    const pg = new PostgresProcess(await freePort(), dir, host)
    // A test process that dies before its teardown must not leave a server behind.
    process.once('exit', pg.removeAtExit)
    try {
      if (asRoot()) chownSync(dir, Number(idOf('-u')), Number(idOf('-g')))
      await pg.exec('initdb', ['-D', pg.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'])
      if (host !== '127.0.0.1') appendFileSync(join(pg.data, 'pg_hba.conf'), 'host all all 0.0.0.0/0 trust\n')
      await pg.pgCtl(['start', '-o', `-p ${pg.port} -k ${dir} -c listen_addresses=${host} -c max_connections=${opts.maxConnections ?? 100}`])
    } catch (err) {
      await pg.destroy()
      throw err
    }
    return pg
  }

  get data (): string { return join(this.dir, 'data') }
  /** The admin URL (database `postgres`, user `postgres`). */
  get url (): string { return `postgres://postgres@${this.host}:${this.port}/postgres` }

  /** `pg_ctl restart -m <mode>`: fast ends sessions and checkpoints; immediate is a crash followed by recovery. */
  async restart (mode: 'fast' | 'immediate'): Promise<void> {
    await this.pgCtl(['restart', '-m', mode])
  }

  async destroy (): Promise<void> {
    process.off('exit', this.removeAtExit)
    this.remove()
  }

  private remove (): void {
    this.pgCtlSync(['stop', '-m', 'immediate'])
    rmSync(this.dir, { recursive: true, force: true })
  }

  private async pgCtl (args: string[]): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'log'), '-w', '-t', '60', ...args])
  }

  private pgCtlSync (args: string[]): void {
    const [cmd, ...rest] = command('pg_ctl', ['-D', this.data, '-w', ...args])
    spawnSync(cmd!, rest, { stdio: 'ignore' })
  }

  private async exec (bin: string, args: string[]): Promise<void> {
    const [cmd, ...rest] = command(bin, args)
    await run(cmd!, rest, { cwd: this.dir })
  }
}

function asRoot (): boolean {
  return userInfo().uid === 0
}

function idOf (flag: '-u' | '-g'): string {
  return spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim()
}

function command (bin: string, args: string[]): string[] {
  const path = join(BIN, bin)
  return asRoot() ? ['runuser', '-u', 'postgres', '--', path, ...args] : [path, ...args]
}
