/**
 * Helpers for the interop tests against real peers (Kamailio, sipp, sngrep, hep-js).
 *
 * Every process is started under coreutils `timeout` (so it dies by itself even if the test
 * runner is killed), on loopback only, with its output kept for failure messages; the tests stop
 * them by PID in afterAll. Ports are random in 20000-40000 (outside the kernel's ephemeral range)
 * and checked free in /proc/net; readiness is "the socket is bound" (read from /proc/net), never a
 * fixed sleep. Scratch files go to a directory under os.tmpdir().
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { it, onTestFailed } from 'vitest'
import { BIN, ROOT } from '../helpers/cli.js'

export const KAMAILIO_DIR = fileURLToPath(new URL('./kamailio/', import.meta.url))

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------------
// Is the peer installed? In CI (process.env.CI) a missing peer is a failure, elsewhere a skip.

/** Which Debian package provides each tool (for the messages). */
const PACKAGE: Record<string, string> = {
  kamailio: 'kamailio',
  sipp: 'sip-tester',
  sngrep: 'sngrep',
  sqlite3: 'sqlite3',
  timeout: 'coreutils',
}

export interface PeerGate {
  /** everything needed is there: run the tests */
  ok: boolean
  /** set when something is missing and CI is set: the suite must fail with this */
  failure?: string
}

/**
 * Checks the tools (commands on PATH) and any extra condition (returns a reason when not met).
 * Prints why the suite is skipped when it is.
 */
export function peerGate(suite: string, tools: string[], ...extra: (() => string | undefined)[]): PeerGate {
  const problems: string[] = []
  if (process.platform !== 'linux') problems.push('these tests need Linux (/proc/net, Debian peers)')
  for (const t of ['timeout', ...tools]) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0)
      problems.push(`${t} is not installed (Debian package ${PACKAGE[t] ?? t})`)
  }
  if (problems.length === 0)
    for (const check of extra) {
      const why = check()
      if (why) problems.push(why)
    }
  if (problems.length === 0) return { ok: true }
  const message = `${suite}: ${problems.join('; ')}`
  if (process.env.CI) return { ok: false, failure: `${message} — .ci/run must install it (PKGS)` }
  console.warn(`skipping interop tests "${suite}": ${problems.join('; ')} (CI installs them: .ci/run)`)
  return { ok: false }
}

/**
 * At the top level of a test file: where the gate failed in CI, one test that fails with its reason
 * (the file's suites are skipped by `describe.skipIf(!gate.ok)`).
 */
export function failIfMissing(gate: PeerGate, title: string): void {
  if (gate.failure) {
    it(title, () => {
      throw new Error(gate.failure)
    })
  }
}

/** `kamailio -c` on one of our configs: undefined when it parses and its modules load. */
export function kamailioConfigProblem(cfg: string, ...defines: string[]): string | undefined {
  const r = spawnSync(
    'kamailio',
    ['-c', '-f', join(KAMAILIO_DIR, cfg), '-l', 'udp:127.0.0.1:1', ...defines.flatMap((d) => ['-A', d])],
    { encoding: 'utf8', timeout: 10_000 },
  )
  if (r.status === 0) return undefined
  const errs = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .filter((l) => /ERROR|CRITICAL/.test(l))
    .slice(0, 3)
    .join(' | ')
  return `kamailio cannot load ${cfg} (modules from kamailio, kamailio-sqlite-modules?): ${errs || `exit ${r.status}`}`
}

/** hep-js, the project's devDependency. */
export function hepJsProblem(): string | undefined {
  try {
    createRequire(import.meta.url).resolve('hep-js')
    return undefined
  } catch {
    return 'npm package hep-js is not installed (devDependency: npm ci)'
  }
}

// ---------------------------------------------------------------------------------------------
// Ports

/** Local ports bound on loopback/any for udp (any state) or tcp (LISTEN), IPv4 and IPv6. */
export function boundPorts(proto: 'udp' | 'tcp'): Set<number> {
  const ports = new Set<number>()
  for (const f of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text = ''
    try {
      text = readFileSync(f, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      if (cols.length < 4) continue
      if (proto === 'tcp' && cols[3] !== '0A') continue
      ports.add(parseInt(cols[1].split(':')[1], 16))
    }
  }
  return ports
}

const handedOut = new Set<number>()

/** The kernel's ephemeral port range: ports it hands to port-0 binds and outgoing connections. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
    if (lo > 0 && hi >= lo) return [lo, hi]
  } catch {
    /* not Linux */
  }
  return [32768, 60999]
}

/**
 * A random port in 20000-40000, outside the ephemeral range (else an outgoing connection of a
 * parallel test may take it between our check and the peer's bind), that nothing uses on UDP
 * nor TCP and that was not handed out before in this process.
 */
export function freePort(): number {
  const [lo, hi] = ephemeralRange()
  const candidates: [number, number][] = [
    [20000, Math.min(40000, lo - 1)],
    [Math.max(20000, hi + 1), 40000],
  ].filter(([a, b]) => b - a > 100) as [number, number][]
  if (candidates.length === 0) candidates.push([20000, 40000])
  const udp = boundPorts('udp')
  const tcp = boundPorts('tcp')
  for (let i = 0; i < 1000; i++) {
    const [a, b] = candidates[Math.floor(Math.random() * candidates.length)]
    const p = a + Math.floor(Math.random() * (b - a + 1))
    if (!udp.has(p) && !tcp.has(p) && !handedOut.has(p)) {
      handedOut.add(p)
      return p
    }
  }
  throw new Error('no free port found in 20000-40000')
}

/** Waits until `port` is bound (udp) or listening (tcp); fails early if `peer` exits. */
export async function waitBound(proto: 'udp' | 'tcp', port: number, peer?: Peer, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs
  while (!boundPorts(proto).has(port)) {
    if (peer && !peer.running())
      throw new Error(
        `${peer.name} exited (${peer.exitCode}) before binding ${proto} ${port}\n${peer.tail()}`,
      )
    if (Date.now() > end)
      throw new Error(`nothing bound ${proto} ${port} after ${timeoutMs} ms${peer ? `\n${peer.tail()}` : ''}`)
    await sleep(20)
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[?::1\]?)$/

export function assertLoopback(host: string): void {
  if (!LOOPBACK.test(host)) throw new Error(`refusing a non-loopback address: ${host}`)
}

/** "127.0.0.1" -> "127.0.0.1", "::1" -> "[::1]" (for URIs and HOST:PORT). */
export const bracket = (ip: string): string => (ip.includes(':') ? `[${ip}]` : ip)

// ---------------------------------------------------------------------------------------------
// Processes

/** A process started under `timeout`, its output kept. */
export class Peer {
  readonly child: ChildProcessWithoutNullStreams
  readonly exited: Promise<number | null>
  exitCode: number | null | undefined = undefined
  private out: Buffer[] = []
  private err: Buffer[] = []
  private both: Buffer[] = []
  private bothBytes = 0

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    opts: { limitSec: number; cwd?: string; env?: Record<string, string>; foreground?: boolean },
  ) {
    // --foreground: a signal given to timeout reaches the peer once (without it, timeout also signals
    // its own process group, which holds the peer: a Ctrl-C test would see two)
    const fg = opts.foreground ? ['--foreground'] : []
    this.child = spawn(
      'timeout',
      [...fg, '--signal=TERM', '--kill-after=5', String(opts.limitSec), cmd, ...args],
      {
        cwd: opts.cwd ?? ROOT,
        env: { ...process.env, NO_COLOR: '1', ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    )
    this.child.stdin.end()
    const keep = (d: Buffer) => {
      if (this.bothBytes > 8_000_000) return
      this.both.push(d)
      this.bothBytes += d.length
    }
    this.child.stdout.on('data', (d: Buffer) => {
      this.out.push(d)
      keep(d)
    })
    this.child.stderr.on('data', (d: Buffer) => {
      this.err.push(d)
      keep(d)
    })
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null)
        resolve(this.exitCode)
      }),
    )
    this.child.on('error', (e) => keep(Buffer.from(`\n[spawn error: ${e.message}]\n`)))
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  running(): boolean {
    return this.exitCode === undefined
  }

  stdout(): string {
    return Buffer.concat(this.out).toString('utf8')
  }

  stderr(): string {
    return Buffer.concat(this.err).toString('utf8')
  }

  /** stdout and stderr as they came */
  log(): string {
    return Buffer.concat(this.both).toString('utf8')
  }

  /** the last lines of the log (long lines cut), for failure messages */
  tail(lines = 40): string {
    const l = this.log().trimEnd().split('\n')
    const shown = l.slice(-lines).map((x) => (x.length > 300 ? `${x.slice(0, 300)}…` : x))
    const state = this.running() ? 'running' : `exit ${this.exitCode}`
    return `--- ${this.name} (pid ${this.pid}, ${state}), last ${shown.length} of ${l.length} lines:\n${shown.join('\n')}`
  }

  /** Waits until the log (or only stderr) matches; fails early if the process exits. */
  async waitLog(re: RegExp, timeoutMs = 10_000, stream: 'all' | 'stderr' = 'all'): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs
    while (true) {
      const m = (stream === 'all' ? this.log() : this.stderr()).match(re)
      if (m) return m
      if (!this.running()) throw new Error(`${this.name} exited before printing ${re}\n${this.tail()}`)
      if (Date.now() > end) throw new Error(`${this.name}: no ${re} after ${timeoutMs} ms\n${this.tail()}`)
      await sleep(20)
    }
  }

  /** Resolves with the exit code, or rejects with the log after `timeoutMs` (the process is left running). */
  async wait(timeoutMs: number): Promise<number | null> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name} did not finish in ${timeoutMs} ms\n${this.tail()}`)),
        timeoutMs,
      )
    })
    try {
      return await Promise.race([this.exited, late])
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Sends `signal` to the `timeout` wrapper, which passes it on to the peer (and SIGKILLs it 5 s
   * later if it is still there). After `graceMs`, SIGKILL to the wrapper's own process group (it
   * made one: its PID), i.e. the peer and its children. Never by name.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 6000): Promise<number | null | undefined> {
    if (!this.running() || this.pid === undefined) return this.exitCode
    try {
      process.kill(this.pid, signal)
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      for (const target of [-this.pid!, this.pid!]) {
        try {
          process.kill(target, 'SIGKILL')
        } catch {
          /* gone */
        }
      }
    }, graceMs)
    await this.exited
    clearTimeout(timer)
    return this.exitCode
  }
}

/** The peers of one test file: started through it, all stopped in afterAll, all logs on failure. */
export class Peers {
  private list: Peer[] = []
  private scratchDir?: string

  /** this file's scratch directory under os.tmpdir(), made on first use */
  get scratch(): string {
    this.scratchDir ??= mkdtempSync(join(tmpdir(), 'hep-interop-'))
    return this.scratchDir
  }

  start(
    name: string,
    cmd: string,
    args: string[],
    opts: { limitSec?: number; env?: Record<string, string>; foreground?: boolean } = {},
  ) {
    const p = new Peer(name, cmd, args, {
      limitSec: opts.limitSec ?? 40,
      env: opts.env,
      foreground: opts.foreground,
    })
    this.list.push(p)
    return p
  }

  /** `node bin/run.js ARGS` (our CLI), under timeout like the peers */
  hep(name: string, args: string[], limitSec = 40): Peer {
    return this.start(name, process.execPath, [BIN, ...args], { limitSec, env: { NODE_ENV: 'production' } })
  }

  /** a fresh directory for one test case */
  dir(name: string): string {
    return mkdtempSync(join(this.scratch, `${name.replace(/[^\w.-]+/g, '_')}-`))
  }

  /** the logs of every peer started since `from` (an index from `mark()`) */
  report(from = 0): string {
    return this.list
      .slice(from)
      .map((p) => p.tail(60))
      .join('\n')
  }

  mark(): number {
    return this.list.length
  }

  /** In a test: should it fail, the logs of every peer it started are printed, under `name`. */
  watch(name: string): void {
    const from = this.mark()
    onTestFailed(() => console.error(`\n=== ${name}: peer logs\n${this.report(from)}`))
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list.map((p) => p.stop()))
    if (!this.scratchDir) return
    if (!process.env.HEP_INTEROP_KEEP) rmSync(this.scratchDir, { recursive: true, force: true })
    else console.warn(`interop scratch kept in ${this.scratchDir}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Kamailio

export function kamailioArgs(cfg: string, dir: string, listen: string[], defines: string[]): string[] {
  for (const l of listen) {
    const m = /^(udp|tcp):(.+):(\d+)$/.exec(l)
    if (!m) throw new Error(`bad listen socket ${l}`)
    assertLoopback(m[2])
  }
  // -DD: no daemon, -E: log to stderr, -Y/-w: runtime and working dir in scratch, small memory
  return [
    '-f',
    join(KAMAILIO_DIR, cfg),
    '-DD',
    '-E',
    '-m',
    '64',
    '-M',
    '8',
    '-Y',
    dir,
    '-w',
    dir,
    ...listen.flatMap((l) => ['-l', l]),
    ...defines.flatMap((d) => ['-A', d]),
  ]
}

// ---------------------------------------------------------------------------------------------
// SIP

export interface SipSummary {
  /** request method or status code */
  first: string
  callId: string
  cseq: string
}

export function sipSummary(payload: string): SipSummary {
  const [line1] = payload.split('\r\n', 1)
  const status = /^SIP\/2\.0 (\d{3})/.exec(line1)
  const header = (names: string[]) => {
    for (const n of names) {
      const m = new RegExp(`^${n}[ \\t]*:[ \\t]*(.*?)\\s*$`, 'im').exec(payload)
      if (m) return m[1]
    }
    return ''
  }
  return {
    first: status ? status[1] : line1.split(' ')[0],
    callId: header(['Call-ID', 'i']),
    cseq: header(['CSeq']).replace(/\s+/g, ' '),
  }
}

export const sipKey = (p: string): string => {
  const s = sipSummary(p)
  return `${s.first} ${s.callId} ${s.cseq}`
}

/** One message from sipp's -trace_msg file. */
export interface SippMessage {
  dir: 'sent' | 'received'
  /** wall clock when sipp logged it, ms since the epoch (sipp prints local time) */
  atMs: number
  payload: string
}

/**
 * Reads sipp's `-trace_msg -message_file F`: each message is preceded by
 * "----- 2026-11-23 18:03:39.461241\nUDP message sent (511 bytes):\n\n" or
 * "... received [309] bytes :\n\n" and followed by the exact bytes.
 */
export function readSippMessages(file: string): SippMessage[] {
  if (!existsSync(file)) return []
  const text = readFileSync(file).toString('latin1')
  const re =
    /^-{5,} (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})\n\S+ message (sent|received) (?:\((\d+) bytes\)|\[(\d+)\] bytes ?):\n\n/gm
  const out: SippMessage[] = []
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [y, mo, d, h, mi, s, us] = m.slice(1, 8).map(Number)
    const start = m.index + m[0].length
    const bytes = Buffer.from(text.slice(start, start + Number(m[9] ?? m[10])), 'latin1')
    out.push({
      dir: m[8] as 'sent' | 'received',
      atMs: new Date(y, mo - 1, d, h, mi, s).getTime() + us / 1000,
      payload: bytes.toString('utf8'),
    })
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Files

/** Number of records in a classic pcap file (0 while it is missing or has only its header). */
export function pcapRecords(file: string): number {
  let b: Buffer
  try {
    b = readFileSync(file)
  } catch {
    return 0
  }
  if (b.length < 24) return 0
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d
  let n = 0
  for (let off = 24; off + 16 <= b.length; n++) {
    const incl = le ? b.readUInt32LE(off + 8) : b.readUInt32BE(off + 8)
    off += 16 + incl
    if (off > b.length) break
  }
  return n
}

/** `sqlite3 -json DB SQL` with a busy timeout (Kamailio may be writing). */
export function sqliteJson<T = Record<string, unknown>>(db: string, sql: string): T[] {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', '-json', db, sql], {
    encoding: 'utf8',
    timeout: 15_000,
    maxBuffer: 64 * 1024 * 1024,
  })
  if (r.status !== 0) throw new Error(`sqlite3 ${db} "${sql}": exit ${r.status}: ${r.stderr}`)
  return r.stdout.trim() ? (JSON.parse(r.stdout) as T[]) : []
}

export function sqliteExec(db: string, sqlText: string): void {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', db], {
    input: sqlText,
    encoding: 'utf8',
    timeout: 15_000,
  })
  if (r.status !== 0) throw new Error(`sqlite3 ${db}: exit ${r.status}: ${r.stderr}`)
}

/** JSON lines -> objects (blank lines skipped) */
/** The packets of a --json stdout (its {"summary":true,…} line left out). */
export const jsonLines = <T = Record<string, unknown>>(text: string): T[] =>
  text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('{"summary":true'))
    .map((l) => JSON.parse(l) as T)
