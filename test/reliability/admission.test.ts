/**
 * Reliability (issue #10): idle floods cannot lock honest senders out of `hep listen`.
 * - 2,000 idle TCP connections (twice the default --max-connections), then `hep send` of 10,000
 *   packets: all 10,000 arrive, well before the 10 s handshake timeout could have freed a slot.
 * - under `ulimit -n 64`, 100 idle connections exhaust the descriptors: the shortage is reported once
 *   with the `ulimit -n` advice, idle connections are evicted, and an honest sender's 1,000 packets
 *   all arrive.
 * Real processes, loopback, port 0; the listener and the idle connections run in child processes with
 * the descriptor limit they need (set by `sh -c 'ulimit -n …'`).
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BIN, builtAlready, hep, ROOT, summaryOf, watch, type Running } from '../helpers/cli.js'
import { hep3 } from '../net/helpers.js'

const procs: Running[] = []

/** Runs `script` with sh after `ulimit -n <limit>` (the command replaces the shell). */
function shell(limit: number, command: string): Running {
  const child = spawn('sh', ['-c', `ulimit -n ${limit} && exec ${command}`], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const p = watch(child)
  procs.push(p)
  return p
}

/** A script that opens N TCP connections to PORT, sends nothing, and reports "open N closed M". */
const HOLDER = `
const net = require('node:net')
const [port, n] = process.argv.slice(2).map(Number)
let open = 0
let closed = 0
const report = () => process.stdout.write('open ' + open + ' closed ' + closed + '\\n')
for (let i = 0; i < n; i++) {
  const s = net.connect(port, '127.0.0.1')
  s.on('connect', () => {
    if (++open === n) report()
  })
  s.on('error', () => {})
  s.on('close', () => closed++)
}
setInterval(report, 200)
`

function idleHolder(limit: number, port: number, n: number): Running {
  return shell(limit, `"${process.execPath}" "${join(dir, 'holder.cjs')}" ${port} ${n}`)
}

function listener(limit: number, extra = ''): Running {
  return shell(limit, `"${process.execPath}" "${BIN}" listen --tcp 127.0.0.1:0 --json ${extra}`)
}

const lines = (s: string): number => s.split('\n').filter((l) => l.startsWith('{')).length

/** The hard limit on open files, as the shell sees it. */
function hardLimit(): number {
  const r = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' })
  const v = r.stdout.trim()
  return v === 'unlimited' ? Infinity : Number(v)
}

let dir: string
beforeAll(() => {
  if (!builtAlready()) throw new Error('run `npm run build` first: these tests run bin/run.js')
  dir = mkdtempSync(join(tmpdir(), 'hep-admission-'))
  writeFileSync(join(dir, 'holder.cjs'), HOLDER)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.child.kill('SIGKILL')
    await p.exited
  }
})

function packetsFile(name: string, n: number): string {
  const path = join(dir, name)
  const rows: string[] = []
  for (let i = 0; i < n; i++) rows.push(hep3(`MESSAGE sip:${i}@example.com SIP/2.0`).toString('hex'))
  writeFileSync(path, rows.join('\n') + '\n')
  return path
}

const HIGH = 4200
const canRaise = hardLimit() >= HIGH

describe('admission under idle floods (CLI)', () => {
  it.skipIf(!canRaise)(
    `2,000 idle connections, then an honest sender of 10,000 packets: all 10,000 arrive${canRaise ? '' : ` (skipped: ulimit -Hn is below ${HIGH})`}`,
    async () => {
      const l = listener(HIGH)
      const port = Number((await l.waitFor(/listening on tcp 127\.0\.0\.1:(\d+)/, 'stderr', 15_000))[1])
      const file = packetsFile('10k.hex', 10_000)
      const t0 = Date.now()
      const idle = idleHolder(HIGH, port, 2000)
      await idle.waitFor(/open 2000 /, 'stdout', 15_000)
      const sent = await hep(['send', file, '--to', `tcp://127.0.0.1:${port}`], { timeoutMs: 20_000 })
      expect(sent.code, sent.stderr).toBe(0)
      const deadline = Date.now() + 10_000
      while (lines(l.stdout()) < 10_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(lines(l.stdout())).toBe(10_000)
      // admitted by eviction, not by the handshake timeout (10 s) or the idle timeout (120 s)
      expect(Date.now() - t0).toBeLessThan(10_000)
      l.child.kill('SIGINT')
      expect(await l.exited).toBe(0)
      // the --json summary: {"summary":true,…,"connections":{"accepted":N,"closed":{reason:n}}}
      const summary = summaryOf(l.stdout()).connections as
        { accepted: number; closed: Record<string, number> } | undefined
      expect(summary, l.stderr().slice(-2000)).toBeDefined()
      // more than --max-connections were admitted (so eviction made the room); some idle ones may still
      // wait in the kernel's accept queue (or retry their handshake) when the listener stops: on a
      // loaded machine 1,488 of the 2,000 had been accepted by then
      const accepted = summary!.accepted
      expect(accepted).toBeGreaterThan(1024)
      // never more than 1,024 open: every connection beyond evicted one (the sender's too); the sender
      // closed its own at the end, the others were open until the listener stopped
      const closed = summary!.closed
      expect(Object.keys(closed).sort()).toEqual(['evicted', 'peer', 'shutdown'])
      expect(closed.peer).toBe(1)
      expect(closed.shutdown).toBeLessThanOrEqual(1024)
      expect(closed.evicted + closed.peer + closed.shutdown).toBe(accepted)
      expect(closed.evicted).toBeGreaterThanOrEqual(accepted - 1025)
      expect(l.stderr()).toMatch(
        /closed tcp 127\.0\.0\.1:\d+ #\d+: evicted \(the listener had 1024 connections;/,
      )
    },
    60_000,
  )

  it('--handshake-timeout closes a connection that sends no complete packet in time', async () => {
    const l = listener(1024, '--handshake-timeout 1')
    const port = Number((await l.waitFor(/listening on tcp 127\.0\.0\.1:(\d+)/, 'stderr', 15_000))[1])
    const idle = idleHolder(1024, port, 1)
    await idle.waitFor(/open 1 /, 'stdout', 5000)
    const t0 = Date.now()
    await l.waitFor(
      /closed tcp 127\.0\.0\.1:\d+ #1: handshake-timeout \(no complete packet within 1 s of connecting\), 0 packets/,
      'stderr',
      5000,
    )
    expect(Date.now() - t0).toBeLessThan(3000)
    await idle.waitFor(/open 1 closed 1/, 'stdout', 2000)
    l.child.kill('SIGINT')
    expect(await l.exited).toBe(0)
    expect(summaryOf(l.stdout()).connections).toEqual({ accepted: 1, closed: { 'handshake-timeout': 1 } })
  })

  it('under `ulimit -n 64`: reports the shortage once with advice, evicts idle ones, the sender gets through', async () => {
    const l = listener(64)
    const port = Number((await l.waitFor(/listening on tcp 127\.0\.0\.1:(\d+)/, 'stderr', 15_000))[1])
    const idle = idleHolder(1024, port, 100)
    await idle.waitFor(/open 100 /, 'stdout', 10_000)
    const file = packetsFile('1k.hex', 1000)
    const sent = await hep(['send', file, '--to', `tcp://127.0.0.1:${port}`], { timeoutMs: 20_000 })
    expect(sent.code, sent.stderr).toBe(0)
    const deadline = Date.now() + 5000
    while (lines(l.stdout()) < 1000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(lines(l.stdout())).toBe(1000)
    l.child.kill('SIGINT')
    expect(await l.exited).toBe(0)
    const err = l.stderr()
    const advice = err.split('\n').filter((line) => line.startsWith('error: out of file descriptors'))
    expect(advice, err.slice(-3000)).toHaveLength(1)
    expect(advice[0]).toMatch(
      /^error: out of file descriptors \(EMFILE\): \d+ of the limit of 64 in use; the connections that have gone longest without a packet are evicted to admit new ones \(accepting pauses briefly when there is none\); raise `ulimit -n` \(now 64\) or lower --max-connections$/,
    )
    expect(err).toMatch(/closed tcp 127\.0\.0\.1:\d+ #\d+: evicted \(out of file descriptors \(EMFILE\); /)
    expect(summaryOf(l.stdout()).descriptors).toEqual({
      admittedByEviction: expect.any(Number),
      refused: 0,
      pauses: 0,
    })
  }, 60_000)
})
