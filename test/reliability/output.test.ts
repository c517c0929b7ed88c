// Reliability under slow and failing outputs (issue #10): `hep listen` behind a stalled stdout keeps
// its memory bounded and accounts for every packet (UDP: printed or counted as dropped, by us or by
// the kernel; TCP: the sender is held back, nothing is lost), and a full disk is reported once, the
// summary is printed, the exit code is the documented one and the pcap stays readable.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { sipPacket } from '../net/helpers.js'
import { createSocket } from 'node:dgram'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encode } from '../../src/hep/codec.js'
import { readAll } from '../../src/pcap/read/index.js'
import { BIN, ROOT, builtAlready, haveTool, packetLines } from '../helpers/cli.js'

const RATE = 50_000 // packets per second
const SECONDS = 10
const MAX_RSS_KB = 200 * 1024

/** A HEP3 SIP packet of about 450 bytes (all of the same length), numbered in its payload. */
function packet(i: number): Buffer {
  return encode(
    sipPacket(
      `INVITE sip:${String(i).padStart(8, '0')}@example.com SIP/2.0\r\n${'X-Pad: x\r\n'.repeat(30)}\r\n`,
      {
        timeUseconds: 0,
        captureId: 1,
      },
    ),
  )
}

interface Listener {
  child: ChildProcessWithoutNullStreams
  port: number
  stderr: () => string
  /** newline count of what was read from stdout */
  lines: () => number
  stdoutTail: () => string
  /** stops reading stdout (the pipe fills and the listener's writes back up) */
  stall: () => void
  unstall: () => void
  exited: Promise<number | null>
}

/** Starts `hep listen ARGS` with stdout not read until unstall(); resolves once it listens. */
async function listen(args: string[], stalled: boolean): Promise<Listener> {
  const child = spawn(process.execPath, [BIN, 'listen', ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let err = ''
  let lines = 0
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  let tail = '' // the end of stdout, where the --json summary line comes
  child.stdout.on('data', (d: Buffer) => {
    for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++
    tail = (tail + d.toString('latin1')).slice(-65536)
  })
  if (stalled) child.stdout.pause()
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  void exited.then(() => clearTimeout(killer))
  const t0 = Date.now()
  let port = 0
  while (port === 0) {
    const m = /listening on \w+ 127\.0\.0\.1:(\d+)/.exec(err)
    if (m) port = Number(m[1])
    else if (Date.now() - t0 > 15_000 || child.exitCode !== null)
      throw new Error(`hep listen did not start:\n${err}`)
    else await sleep(20)
  }
  return {
    child,
    port,
    stderr: () => err,
    // packet lines: every line but the {"summary":true,…} one
    lines: () => lines - (summaryLine(tail) === undefined ? 0 : 1),
    stdoutTail: () => tail,
    stall: () => child.stdout.pause(),
    unstall: () => child.stdout.resume(),
    exited,
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Peak resident memory of a process in KiB (VmHWM), from /proc. */
function peakRssKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error('no VmHWM')
  return Number(m[1])
}

/** Paces `send(n)` to RATE per second for SECONDS; resolves with how many it sent. */
async function paced(send: (n: number) => Promise<number> | number): Promise<number> {
  const t0 = Date.now()
  let sent = 0
  while (Date.now() - t0 < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * RATE) - sent
    if (due > 0) sent += await send(Math.min(due, 5000))
    await sleep(5)
  }
  return sent
}

/** The {"summary":true,…} line at the end of a --json stdout, if it is there. */
function summaryLine(tail: string): string | undefined {
  const last = tail.trimEnd().split('\n').pop() ?? ''
  return last.startsWith('{"summary":true') ? last : undefined
}

/** The numbers of listen's --json summary: packets received, dropped by us and by the kernel. */
function summary(l: Listener, udp = true): { received: number; ours: number; kernel: number } {
  const line = summaryLine(l.stdoutTail())
  if (line === undefined) throw new Error(`no summary at the end of stdout; stderr:\n${l.stderr()}`)
  const j = JSON.parse(line) as { received: number; dropped?: { output: number; kernel: number | null } }
  if (j.dropped === undefined && udp) throw new Error(`no "dropped" in the summary: ${line}`)
  return { received: j.received, ours: j.dropped?.output ?? 0, kernel: j.dropped?.kernel ?? 0 }
}

/** Waits until `f()` stays the same for `quietMs`. */
async function settle(f: () => number, quietMs = 1000, maxMs = 30_000): Promise<void> {
  const t0 = Date.now()
  let last = -1
  let since = Date.now()
  while (Date.now() - t0 < maxMs) {
    const v = f()
    if (v !== last) {
      last = v
      since = Date.now()
    } else if (Date.now() - since >= quietMs) return
    await sleep(100)
  }
}

const linux = process.platform === 'linux'

describe.skipIf(!linux)('listen behind a stalled stdout (50,000 packets/s for 10 s)', () => {
  beforeAll(() => {
    if (!builtAlready()) throw new Error('run npm run build first')
  })

  it('UDP: peak RSS ≤ 200 MB, and printed + dropped by us + dropped by the kernel = sent', async () => {
    const l = await listen(['--udp', '127.0.0.1:0', '--json'], true)
    const sock = createSocket('udp4')
    sock.on('error', () => {}) // a listener that died shows in its exit code and summary
    await new Promise<void>((r) => sock.connect(l.port, '127.0.0.1', () => r()))
    const pkts = Array.from({ length: 64 }, (_, i) => packet(i))
    let queued = 0
    let done = 0
    const sent = await paced(async (n) => {
      for (let i = 0; i < n; i++) sock.send(pkts[i & 63], () => done++)
      queued += n
      while (queued - done > 20_000) await sleep(1) // keep the sender's own queue small
      return n
    })
    while (done < queued) await sleep(5)
    sock.close()
    await sleep(500) // the listener reads what is queued
    const peak = peakRssKb(l.child.pid!)
    l.unstall()
    await settle(() => l.lines())
    l.child.kill('SIGINT')
    const code = await l.exited
    const s = summary(l)
    console.log(
      `UDP: sent ${sent}, printed ${l.lines()}, dropped ${s.ours} by us + ${s.kernel} by the kernel; peak RSS ${Math.round(peak / 1024)} MB`,
    )
    expect(code).toBe(0)
    expect(peak).toBeLessThanOrEqual(MAX_RSS_KB)
    expect(s.received).toBe(l.lines())
    expect(s.ours).toBeGreaterThan(0) // the bound was reached: we dropped rather than grew
    expect(l.stderr()).toMatch(/stdout is not keeping up \(over --output-buffer 64 MiB\)/)
    expect(l.lines() + s.ours + s.kernel).toBe(sent)
  }, 60_000)

  it('TCP: peak RSS ≤ 200 MB; the sender is held back and everything it wrote is printed', async () => {
    const l = await listen(['--tcp', '127.0.0.1:0', '--json'], true)
    const sock = connect(l.port, '127.0.0.1')
    let sockError: Error | undefined
    sock.on('error', (e) => (sockError = e))
    await new Promise<void>((r) => sock.once('connect', () => r()))
    const stream = Buffer.concat(Array.from({ length: 64 }, (_, i) => packet(i)))
    const per = stream.length / 64
    expect(Number.isInteger(per)).toBe(true)
    let blocked = 0
    let wake: (() => void) | undefined
    sock.on('drain', () => wake?.())
    const written = await paced(async (n) => {
      // write whole packets; when the socket says wait, the sender waits (that is the backpressure)
      let k = 0
      while (k < n) {
        const m = Math.min(64, n - k)
        const ok = sock.write(stream.subarray(0, m * per))
        k += m
        if (!ok) {
          blocked++
          await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50)])
          if (sock.writableNeedDrain) return k // still blocked: the rest of this tick is not sent
        }
      }
      return k
    })
    const peak = peakRssKb(l.child.pid!)
    l.unstall()
    await new Promise<void>((r) => sock.end(() => r()))
    await settle(() => l.lines())
    const peak2 = peakRssKb(l.child.pid!)
    l.child.kill('SIGINT')
    const code = await l.exited
    const s = summary(l, false)
    console.log(
      `TCP: written ${written} of ${RATE * SECONDS} due (blocked ${blocked} times), printed ${l.lines()}; peak RSS ${Math.round(Math.max(peak, peak2) / 1024)} MB`,
    )
    expect(sockError).toBeUndefined()
    expect(code).toBe(0)
    expect(Math.max(peak, peak2)).toBeLessThanOrEqual(MAX_RSS_KB)
    expect(written).toBeLessThan(RATE * SECONDS) // held back
    expect(l.lines()).toBe(written)
    expect(s.received).toBe(written)
  }, 60_000)
})

// ------------------------------------------------------------------ full disk

const dir = mkdtempSync(join(tmpdir(), 'hep-full-'))
const mnt = join(dir, 'disk')
let mounted = false
let why = ''

describe('listen --write on a full disk (a 1 MiB tmpfs)', () => {
  beforeAll(() => {
    mkdirSync(mnt)
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' })
    mounted = r.status === 0
    why = mounted ? '' : (r.stderr || r.error?.message || 'mount failed').trim()
    if (!mounted) console.log(`full-disk tests skipped: cannot mount a tmpfs (${why})`)
  })
  afterAll(() => {
    if (mounted) spawnSync('umount', [mnt])
    rmSync(dir, { recursive: true, force: true })
  })

  for (const hepFile of ['x.hep', 'x.hep.pcap']) {
    it(`--write x.pcap --write-hep ${hepFile}: one "disk full" line each, summary, exit 5, files end on a whole packet`, async (ctx) => {
      if (!mounted) ctx.skip(`cannot mount a tmpfs: ${why}`)
      rmSync(join(mnt, 'x.pcap'), { force: true })
      rmSync(join(mnt, hepFile), { force: true })
      const pcapPath = join(mnt, 'x.pcap')
      const hepPath = join(mnt, hepFile)
      const l = await listen(['--udp', '127.0.0.1:0', '--write', pcapPath, '--write-hep', hepPath], false)
      const sock = createSocket('udp4')
      sock.on('error', () => {}) // a listener that died shows in its exit code and summary
      await new Promise<void>((r) => sock.connect(l.port, '127.0.0.1', () => r()))
      // 2 MB of messages at a pace the listener keeps up with: twice what the disk holds
      for (let i = 0; i < 5000; i++) {
        sock.send(packet(i))
        if (i % 100 === 99) await sleep(5)
      }
      await sleep(500)
      sock.close()
      l.child.kill('SIGINT')
      const code = await l.exited
      const err = l.stderr()
      expect(code).toBe(5)
      expect(err).toMatch(/listened [\d.]+ s: \d+ packets/) // the summary
      for (const p of [pcapPath, hepPath]) {
        const lines = err.split('\n').filter((x) => x.startsWith('error:') && x.includes(p))
        expect(lines).toEqual([`error: cannot write ${p}: disk full (ENOSPC); nothing more is saved to it`])
      }
      expect(err).not.toMatch(/\n\s+at |Warning|MaxListeners|Error:/)
      // what was written stays readable: whole records only, and as many as the summary says
      const saved = (p: string) => Number(new RegExp(`${p}: (\\d+) packets saved`).exec(err)?.[1])
      const recs = await readAll(pcapPath) // rejects on a record cut short
      expect(recs.length).toBe(saved(pcapPath))
      expect(recs.length).toBeGreaterThan(100)
      if (hepFile.endsWith('.pcap')) expect((await readAll(hepPath)).length).toBe(saved(hepPath))
      else {
        const d = spawnSync(process.execPath, [BIN, 'decode', '--json', hepPath], { encoding: 'utf8' })
        expect(d.status).toBe(0)
        expect(packetLines(d.stdout).length).toBe(saved(hepPath))
      }
      if (haveTool('tshark')) {
        const t = spawnSync('tshark', ['-r', pcapPath], { encoding: 'utf8' })
        expect(t.status).toBe(0)
        expect(t.stderr).not.toMatch(/cut short|appears to be damaged/)
      }
    }, 30_000)
  }
})
