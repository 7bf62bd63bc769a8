import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

const ip = (...args: string[]) => { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }) }

/** Whether this process may build network namespaces (root, with iproute2). */
export function canBuildHosts (): boolean {
  if (process.getuid?.() !== 0) return false
  return spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0
}

/**
 * Hosts on one machine: a network namespace per host, each joined to a bridge in this namespace by a
 * veth pair, on a private /24 of their own. This namespace is one more host of the network (the
 * bridge's address), so servers bound to `bridgeAddress` here are reached over the virtual links.
 * `cut` takes a host's link down as an unplugged cable would: no reset, packets just stop.
 */
export class VirtualHosts {
  private readonly tag = `tg${randomBytes(2).toString('hex')}`
  private readonly subnet: string
  private readonly removeAtExit = () => { this.remove() }
  private built = false

  private constructor (readonly hosts: string[]) {
    const used = execFileSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' })
    let third: number
    do third = 1 + Math.floor(Math.random() * 254); while (used.includes(`10.231.${third}.`))
    this.subnet = `10.231.${third}`
  }

  static create (hosts: string[]): VirtualHosts {
    const net = new VirtualHosts(hosts)
    process.once('exit', net.removeAtExit)
    try {
      net.build()
    } catch (err) {
      net.destroy()
      throw err
    }
    return net
  }

  get bridgeAddress (): string { return `${this.subnet}.1` }
  addressOf (host: string): string { return `${this.subnet}.${10 + this.index(host)}` }
  namespaceOf (host: string): string { return `${this.tag}-${host}` }

  /** Takes the host's link down (its cable pulled), or brings it back up. */
  cut (host: string): void { ip('link', 'set', this.link(host), 'down') }
  restore (host: string): void { ip('link', 'set', this.link(host), 'up') }

  destroy (): void {
    process.off('exit', this.removeAtExit)
    this.remove()
  }

  private build (): void {
    this.built = true
    const bridge = `${this.tag}br`
    ip('link', 'add', bridge, 'type', 'bridge')
    ip('addr', 'add', `${this.bridgeAddress}/24`, 'dev', bridge)
    ip('link', 'set', bridge, 'up')
    for (const host of this.hosts) {
      const ns = this.namespaceOf(host)
      const link = this.link(host)
      ip('netns', 'add', ns)
      ip('link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`)
      ip('link', 'set', link, 'master', bridge)
      ip('link', 'set', link, 'up')
      ip('link', 'set', `${link}p`, 'netns', ns)
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      ip('-n', ns, 'addr', 'add', `${this.addressOf(host)}/24`, 'dev', `${link}p`)
      ip('-n', ns, 'link', 'set', `${link}p`, 'up')
    }
  }

  private remove (): void {
    if (!this.built) return
    this.built = false
    // Deleting a namespace deletes its end of the veth pair, and with it the pair.
    for (const host of this.hosts) spawnSync('ip', ['netns', 'del', this.namespaceOf(host)], { stdio: 'ignore' })
    spawnSync('ip', ['link', 'del', `${this.tag}br`], { stdio: 'ignore' })
  }

  private index (host: string): number {
    const i = this.hosts.indexOf(host)
    if (i < 0) throw new Error(`no host ${host}`)
    return i
  }

  private link (host: string): string { return `${this.tag}v${this.index(host)}` }
}
