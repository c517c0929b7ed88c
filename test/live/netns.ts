/**
 * A network namespace with one end of a veth pair, the other end in the test's own namespace:
 * traffic between 10.X.0.1 (here, interface `here`) and 10.X.0.2 (inside, `ns`) crosses the veth,
 * where `hep capture -i <here>` and tshark's dumpcap see it. Needs root (CI runs as root); where a
 * namespace cannot be made, `netnsProblem()` says why and the tests are skipped, visibly. Deleting
 * the namespace deletes the pair.
 */
import { spawnSync } from 'node:child_process'

export interface Netns {
  ns: string
  /** the veth end in our namespace, and its address */
  here: string
  hereIp: string
  /** the address inside the namespace */
  thereIp: string
  /** the veth end inside the namespace */
  there: string
  /** makes the veth pair again, addresses and all (after `ip link del <here>`) */
  relink(): void
  remove(): void
}

function ip(args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 })
  return { ok: r.status === 0, err: `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim() }
}

/** Why namespaces cannot be used here, or undefined. */
export function netnsProblem(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (CI runs the tests as root)'
  if (spawnSync('sh', ['-c', 'command -v ip']).status !== 0) return 'ip (iproute2) is not installed'
  const probe = `hepprobe${process.pid}`
  const r = ip(['netns', 'add', probe])
  if (!r.ok) return `ip netns add fails: ${r.err}`
  ip(['netns', 'del', probe])
  return undefined
}

/** A fresh namespace and veth pair; `k` (0-200) keeps parallel files apart. */
export function makeNetns(k: number): Netns {
  const id = `${process.pid % 100000}${k}`
  const ns = `hepcap${id}`
  const here = `hc${id}`.slice(0, 15)
  const there = `hn${id}`.slice(0, 15)
  const net = 100 + (k % 100)
  const hereIp = `10.${net}.${process.pid % 250}.1`
  const thereIp = `10.${net}.${process.pid % 250}.2`
  const link = [
    ['link', 'add', here, 'type', 'veth', 'peer', 'name', there, 'netns', ns],
    ['addr', 'add', `${hereIp}/24`, 'dev', here],
    ['link', 'set', here, 'up'],
    ['-n', ns, 'addr', 'add', `${thereIp}/24`, 'dev', there],
    ['-n', ns, 'link', 'set', there, 'up'],
  ]
  const steps = [['netns', 'add', ns], ...link, ['-n', ns, 'link', 'set', 'lo', 'up']]
  const remove = () => {
    ip(['netns', 'del', ns])
    ip(['link', 'del', here])
  }
  for (const s of steps) {
    const r = ip(s)
    if (!r.ok) {
      remove()
      throw new Error(`ip ${s.join(' ')}: ${r.err}`)
    }
  }
  const relink = () => {
    for (const s of link) {
      const r = ip(s)
      if (!r.ok) throw new Error(`ip ${s.join(' ')}: ${r.err}`)
    }
  }
  return { ns, here, hereIp, thereIp, there, relink, remove }
}

/** The command line that runs `cmd args` inside the namespace. */
export const inNs = (n: Netns, cmd: string, args: string[]): [string, string[]] => [
  'ip',
  ['netns', 'exec', n.ns, cmd, ...args],
]
