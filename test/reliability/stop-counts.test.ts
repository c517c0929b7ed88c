/**
 * Ctrl-C while a capture is read from a pipe that stays open: what was read before the stop is
 * counted and written. `calls` and `convert` read a capture in 'auto' mode (HEP if it carries any,
 * else its SIP) and hold the first messages until they know which: a stop in that time dropped them
 * all ("read 0 packets", an empty output), because the loops left at the stop before the batch the
 * stop released. And the record the stop cut in half is no malformed input: it is named, not counted,
 * and the exit code stays 0. `send` stopped while it waits for a destination that takes nothing:
 * the packets read and not handed to the sender were left out of every count; they are "left by the
 * stop", as replay counts them, so the summary's figures add up to what was read.
 */
import dgram from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fixture, hexLinesFile, packetLines, start, summaryOf, type Running } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'hep-stop-counts-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// sip-udp.pcap's header and its first 6 records (6 SIP messages of one call), cut inside the 7th
const PART = readFileSync(fixture('captures/sip-udp.pcap')).subarray(0, 3000)

/** Ctrl-C `afterMs` into a run: its exit code (or 'still running' 5 s on), stdout, stderr. */
async function interrupt(run: Running, afterMs: number) {
  try {
    await sleep(afterMs)
    run.child.kill('SIGINT')
    const code = await Promise.race([run.exited, sleep(5000).then(() => 'still running' as const)])
    return { code, stdout: run.stdout(), stderr: run.stderr() }
  } finally {
    run.child.kill('SIGKILL')
  }
}

/** `args` with PART on a stdin pipe that stays open, then Ctrl-C. */
function stopped(args: string[]) {
  const run = start(args)
  run.child.stdin.write(PART)
  return interrupt(run, 700)
}

describe('Ctrl-C while a capture on stdin is read: what was read counts', { timeout: 30_000 }, () => {
  it('calls: the call of the 6 messages read is listed, "read 6 packets", exit 0', async () => {
    const { code, stdout, stderr } = await stopped(['calls', '-', '--json'])
    expect(code, stderr).toBe(0)
    const summary = summaryOf(stdout)
    expect(summary.packets).toBe(6)
    expect(summary.malformed).toBe(0)
    expect(summary.calls).toBe(1)
    expect(packetLines(stdout)).toHaveLength(1)
    expect(stderr).toMatch(/stdin: the stop came inside a record \(record 7 at byte 2677: .*\): not counted/)
  })

  it('convert: the 6 messages read are written, the summary adds up, exit 0', async () => {
    const out = join(dir, 'part.jsonl')
    const { code, stdout, stderr } = await stopped(['convert', '-', out, '--into', 'jsonl', '--json'])
    expect(code, stderr).toBe(0)
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(6)
    expect(summaryOf(stdout)).toMatchObject({ in: 6, out: 6, records: 6, skipped: {} })
    expect(stderr).toMatch(/the stop came inside a record/)
    expect(stderr).not.toMatch(/malformed/)
  })

  it('replay: the 6 messages read are sent; the cut record is no packet "left by the stop"', async () => {
    const sink = dgram.createSocket('udp4')
    let got = 0
    sink.on('message', () => got++)
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r))
    try {
      const to = `127.0.0.1:${sink.address().port}`
      const { code, stdout, stderr } = await stopped(['replay', '-', '--to', to, '--topspeed', '--json'])
      expect(code, stderr).toBe(0)
      expect(summaryOf(stdout)).toMatchObject({ packets: 6, sent: 6, skipped: {} })
      expect(got).toBe(6)
    } finally {
      sink.close()
    }
  })

  it('decode: the cut record is named, not counted as malformed, exit 0', async () => {
    const { code, stdout, stderr } = await stopped(['decode', '-', '--json'])
    expect(code, stderr).toBe(0)
    expect(summaryOf(stdout)).toEqual({ summary: true, packets: 0, malformed: 0 })
    expect(stderr).toMatch(/the stop came inside a record/)
  })
})

describe('Ctrl-C while send waits for a destination that takes nothing', { timeout: 30_000 }, () => {
  it('the packets read and not sent are counted as left by the stop: in = submitted + left', async () => {
    const input = hexLinesFile(join(dir, 'many.hex'), 30_000)
    // accepts the connection and never reads it: the kernel's buffers and the sender's queue fill
    const server = net.createServer((c) => c.pause())
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as net.AddressInfo).port
    try {
      const { code, stdout } = await interrupt(
        start(['send', input, '--to', `tcp://127.0.0.1:${port}`, '--json']),
        1500,
      )
      // nothing the destination confirmed: the network's exit code, not the input's
      expect(code).toBe(3)
      const s = summaryOf(stdout) as { in: number; submitted: number; skipped: Record<string, number> }
      const left = s.skipped['left by the stop']
      expect(left).toBeGreaterThan(0)
      expect(Object.keys(s.skipped)).toEqual(['left by the stop'])
      expect(s.in).toBe(s.submitted + left)
      expect(s.in).toBeLessThan(30_000)
    } finally {
      server.close()
    }
  })
})
