/**
 * The capture engines `hep capture` runs as child processes: tcpdump (in immediate mode, one process
 * per interface, pcap on stdout) and Wireshark's dumpcap (every interface in one process, pcapng on
 * stdout). Which one is used, the arguments each gets, how their failures read to a user (what to
 * install, which permission to grant) and the drop counts they print when they stop.
 */
import { spawn } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

export type EngineName = 'dumpcap' | 'tcpdump'
export type EngineChoice = 'auto' | EngineName

export interface Engine {
  name: EngineName
  /** the executable found on PATH */
  path: string
}

/** A capture that cannot start or go on: `kind` says why; `message` says what to do. */
export class CaptureSetupError extends Error {
  constructor(
    readonly kind: 'missing' | 'permission' | 'interface' | 'filter' | 'failed',
    message: string,
    /** what the engine said, when it said something */
    readonly said = '',
  ) {
    super(message)
    this.name = 'CaptureSetupError'
  }
}

export const INSTALL_HINT =
  "install tcpdump or Wireshark's dumpcap (Debian/Ubuntu: sudo apt-get install tcpdump, or wireshark-common " +
  'for dumpcap; Fedora/RHEL: tcpdump or wireshark-cli; macOS: both come with the system or brew install wireshark)'

/** The executable `name` on `pathEnv` (PATH), as a shell would find it. */
export function findExecutable(
  name: string,
  pathEnv: string | undefined = process.env.PATH,
): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir === '') continue
    const p = join(dir, name)
    try {
      if (!statSync(p).isFile()) continue
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * The engines to try, in order. `auto`: tcpdump first, as it delivers each packet the moment it is
 * captured (--immediate-mode); dumpcap (4.0 has no immediate mode: libpcap hands it packets in blocks,
 * up to 250 ms late) when tcpdump is missing or may not capture. Throws when none is installed.
 */
export function enginesToTry(choice: EngineChoice, pathEnv: string | undefined = process.env.PATH): Engine[] {
  const names: EngineName[] = choice === 'auto' ? ['tcpdump', 'dumpcap'] : [choice]
  const found: Engine[] = []
  for (const name of names) {
    const path = findExecutable(name, pathEnv)
    if (path) found.push({ name, path })
  }
  if (found.length === 0) {
    const what =
      choice === 'auto'
        ? 'neither tcpdump nor dumpcap is installed (or on PATH)'
        : `${choice} is not installed (or not on PATH)`
    throw new CaptureSetupError('missing', `cannot capture: ${what}; ${INSTALL_HINT}`)
  }
  return found
}

/**
 * Bytes kept of each packet: every IPv4 packet and a TSO/GRO super-packet of 64 KiB whole, with its
 * link header. Not tcpdump's 262144: in immediate mode each slot of the kernel's capture ring is
 * sized for the snapshot length, so 256 KiB slots leave a 32 MiB ring only 128 packets deep.
 */
export const DEFAULT_SNAPLEN = 65600

export interface EngineRunOptions {
  interfaces: string[]
  /** the BPF filter */
  filter: string
  /** kernel buffer, MiB */
  bufferMiB?: number
  snaplen?: number
}

/** The argument lists of the processes that capture `o.interfaces`: one for dumpcap, one per interface for tcpdump. */
export function engineArgs(engine: EngineName, o: EngineRunOptions): string[][] {
  const snap = String(o.snaplen ?? DEFAULT_SNAPLEN)
  if (engine === 'dumpcap') {
    const args: string[] = []
    for (const i of o.interfaces) {
      // -f, -s and -B after an -i apply to that interface
      args.push('-i', i, '-f', o.filter, '-s', snap)
      if (o.bufferMiB !== undefined) args.push('-B', String(o.bufferMiB))
    }
    // pcapng (interface statistics blocks: the drop counts) on stdout
    args.push('-n', '-w', '-')
    return [args]
  }
  return o.interfaces.map((i) => {
    const args = ['-i', i, '--immediate-mode', '-U', '-n', '-s', snap, '-w', '-']
    if (o.bufferMiB !== undefined) args.push('-B', String(o.bufferMiB * 1024))
    // root: stay root (tcpdump would switch to its own user, who may not open what we pass it)
    if (process.getuid?.() === 0) args.push('-Z', 'root')
    args.push(o.filter)
    return args
  })
}

/** How to let a non-root user capture with `engine`. */
export function permissionHint(engine: Engine): string {
  const setcap = `sudo setcap cap_net_raw,cap_net_admin=eip ${engine.path}`
  if (engine.name === 'dumpcap')
    return (
      'let dumpcap capture: add yourself to the wireshark group (sudo dpkg-reconfigure wireshark-common, ' +
      `answer Yes; sudo usermod -aG wireshark $USER; log in again), or give it the capabilities: ${setcap}`
    )
  return `let tcpdump capture: ${setcap} (tcpdump is then run by anyone who may execute it), or run hep capture as root`
}

/**
 * What an engine said on stderr before failing, as an error a user can act on; `interfaces` names
 * what was asked for.
 */
export function engineFailure(
  engine: Engine,
  stderr: string,
  code: number | null,
  interfaces: string[],
): CaptureSetupError {
  const text = stderr.trim()
  const ifs = interfaces.join(', ')
  if (/permission|Operation not permitted|not permitted/i.test(text)) {
    const said = lineWith(text, /permission/i) ?? lastLines(text)
    return new CaptureSetupError(
      'permission',
      `${engine.name} may not capture on ${ifs}: ${said}; ${permissionHint(engine)}`,
      said,
    )
  }
  const said = lastLines(text)
  if (/no (such )?device|There is no device named|doesn't exist|No such device exists|is not up/i.test(text))
    return new CaptureSetupError(
      'interface',
      `${engine.name} cannot capture on ${ifs}: ${said} (hep capture --list-interfaces shows what there is)`,
      said,
    )
  if (/syntax error|filter|can't parse|parse error/i.test(text))
    return new CaptureSetupError('filter', `the capture filter was refused: ${said}`, said)
  return new CaptureSetupError(
    'failed',
    `${engine.name} stopped${code === null ? '' : ` with exit code ${code}`}${said ? `: ${said}` : ''}`,
    said,
  )
}

function lineWith(text: string, re: RegExp): string | undefined {
  const l = text.split('\n').find((x) => re.test(x))
  return l?.trim().replace(/^(dumpcap|tcpdump): /, '')
}

function lastLines(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Capturing on|^File: |^listening on|^tcpdump: listening/.test(l))
    .filter((l) => !/^Please check to make sure|^\(?Packets/.test(l))
  return lines
    .slice(-2)
    .join(' ')
    .replace(/^(dumpcap|tcpdump): /, '')
}

/** Drop counts an engine prints on stderr when it stops (its own and the kernel's), summed over interfaces. */
export interface EngineDrops {
  /** packets the engine itself dropped (dumpcap's "dumpcap:" count) */
  engine: number
  /** packets the kernel (or the interface) dropped */
  kernel: number
}

/**
 * The drops in an engine's closing lines: dumpcap's "Packets received/dropped on interface 'X': R/D
 * (pcap:P/dumpcap:E/flushed:F/ps_ifdrop:I)" and tcpdump's "N packets dropped by kernel" / "N packets
 * dropped by interface". Undefined when it printed none.
 */
export function parseEngineDrops(stderr: string): EngineDrops | undefined {
  let found = false
  const d: EngineDrops = { engine: 0, kernel: 0 }
  for (const m of stderr.matchAll(/\(pcap:(\d+)\/dumpcap:(\d+)\/flushed:(\d+)\/ps_ifdrop:(\d+)\)/g)) {
    found = true
    d.kernel += Number(m[1]) + Number(m[4])
    d.engine += Number(m[2]) + Number(m[3])
  }
  for (const m of stderr.matchAll(/^(\d+) packets? dropped by (kernel|interface)/gm)) {
    found = true
    d.kernel += Number(m[1])
  }
  return found ? d : undefined
}

export interface InterfaceInfo {
  name: string
  description?: string
}

/** The interfaces an engine can capture on (`dumpcap -D`, `tcpdump -D`). */
export async function listInterfaces(engine: Engine): Promise<InterfaceInfo[]> {
  const { stdout, stderr, code } = await run(engine.path, ['-D'])
  if (code !== 0) throw engineFailure(engine, stderr, code, ['any interface'])
  const out: InterfaceInfo[] = []
  for (const line of stdout.split('\n')) {
    // dumpcap: "3. lo (Loopback)"; tcpdump: "3.lo [Up, Running, Loopback]"
    const m = /^\s*\d+\.\s*(\S+)\s*(.*)$/.exec(line)
    if (!m) continue
    const desc = m[2].trim()
    out.push({ name: m[1], description: desc === '' ? undefined : desc })
  }
  return out
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const ch = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    ch.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    ch.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    ch.on('error', reject)
    ch.on('close', (code) => resolve({ stdout, stderr, code }))
  })
}
