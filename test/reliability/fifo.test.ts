/**
 * FIFOs named as outputs: one with no reader yet is waited for by retried non-blocking opens, not by
 * an open parked on the thread pool (Ctrl-C then never ended the process); at a stop one nobody reads,
 * or whose reader stalls, is named as failed with the summary; one with a reader gets every line.
 *
 * A FIFO named as an input (`mkfifo p; tcpdump -w p & hep replay p …`), not stdin. Its reads must be
 * ones Ctrl-C can stop: a read parked on libuv's thread pool for a quiet writer kept the process
 * alive after "could not stop in time; exiting" until the writer wrote or closed (28 s here). Each
 * command stops within the 1 s deadline, with its summary and exit 0, while the writer holds the FIFO
 * open and silent; and a FIFO opened before its writer is read whole once the writer comes.
 */
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import dgram from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, fixture, hexLinesFile, ROOT } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'hep-fifo-input-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let n = 0
function fifo(): string {
  const p = join(dir, `in-${n++}`)
  execFileSync('mkfifo', [p])
  return p
}

function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  let stdout = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  const exited = new Promise<number | null>((r) => child.on('close', r))
  // never left behind, whatever the test did
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  return {
    child,
    exited: exited.finally(() => clearTimeout(killer)),
    out: () => ({ stdout, stderr }),
  }
}

/** Some 30 MB of hex lines in `name`: more than a pipe and the writer hold. */
const bigHex = (name: string): string => hexLinesFile(join(dir, name), 30_000)

/** Ctrl-C to a running command: its exit code (or 'still running' 5 s on), how long it took, its stderr. */
async function interrupt(run: ReturnType<typeof start>) {
  const t = Date.now()
  run.child.kill('SIGINT')
  const code = await Promise.race([run.exited, sleep(5000).then(() => 'still running' as const)])
  return { code, took: Date.now() - t, stderr: run.out().stderr }
}

describe('a FIFO named as an input', { timeout: 60_000 }, () => {
  const capture = readFileSync(fixture('captures/sip-udp.pcap'))
  // the header and the first records, cut inside a record: what a writer wrote before going quiet
  const part = capture.subarray(0, 3000)
  const cases: [string, (f: string) => string[], RegExp][] = [
    ['replay', (f) => ['replay', f, '--to', '127.0.0.1:9', '--topspeed'], /packets sent/],
    ['decode', (f) => ['decode', f], /packets? decoded/],
    ['convert', (f) => ['convert', f, join(dir, `out-${n}.hex`), '--into', 'hex'], /capture records/],
    ['calls', (f) => ['calls', f], /1 call listed \(0 failed\); read 6 packets: 6 SIP messages/],
  ]
  for (const [name, args, summary] of cases)
    it(`${name}: Ctrl-C while the writer is quiet stops within the deadline, with the summary and exit 0`, async () => {
      const f = fifo()
      const run = start(args(f))
      const w = await open(f, 'w')
      try {
        await w.write(part)
        await sleep(700) // read, then waiting for more
        const { code, took, stderr } = await interrupt(run)
        expect(code, stderr).toBe(0)
        expect(took, stderr).toBeLessThan(1000)
        expect(stderr).not.toMatch(/could not stop in time/)
        expect(stderr).toMatch(summary)
      } finally {
        await w.close()
        run.child.kill('SIGKILL')
      }
    })

  it('replay: a FIFO opened before its writer is read whole once the writer comes, and ends with it', async () => {
    const sock = dgram.createSocket('udp4')
    let got = 0
    sock.on('message', () => got++)
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))
    const f = fifo()
    const run = start(['replay', f, '--to', `127.0.0.1:${sock.address().port}`, '--topspeed'])
    try {
      await sleep(500) // hep is up, no writer yet: it waits, it does not see an end
      const w = await open(f, 'w')
      await w.write(capture.subarray(0, 1000))
      await sleep(200)
      await w.write(capture.subarray(1000))
      await w.close()
      const code = await run.exited
      await sleep(100)
      const { stderr } = run.out()
      expect(code, stderr).toBe(0)
      expect(stderr).toMatch(/packets sent\s*│\s*18\s/)
      expect(got).toBe(18)
    } finally {
      sock.close()
      run.child.kill('SIGKILL')
    }
  })

  it('convert into a FIFO nobody reads yet: Ctrl-C names it as failed, with the summary, exit 5, promptly', async () => {
    const out = fifo()
    const run = start(['convert', fixture('captures/sip-udp.pcap'), out, '--into', 'hex'])
    try {
      await sleep(700)
      const { code, took, stderr } = await interrupt(run)
      expect(code, stderr).toBe(5)
      expect(took, stderr).toBeLessThan(1000)
      expect(stderr).toMatch(
        /cannot write .*: its reader had not taken everything when the command stopped \(ESTOPPED\)/,
      )
      expect(stderr).not.toMatch(/could not stop in time/)
      // the counts add up: nothing went out, all 18 were left by the output's failure
      expect(stderr).toMatch(/out \(hex\)\s*│\s*0\s/)
      expect(stderr).toMatch(/skipped: output failed\s*│\s*18\s/)
    } finally {
      run.child.kill('SIGKILL')
    }
  })

  it('convert into a FIFO whose reader stalls: Ctrl-C names it as failed, exit 5, promptly', async () => {
    const input = bigHex('big.hex')
    const out = fifo()
    const run = start(['convert', input, out, '--into', 'hex'])
    const r = await open(out, 'r')
    try {
      await r.read(Buffer.alloc(65536), 0, 65536) // takes a little, then nothing more
      await sleep(700)
      const { code, took, stderr } = await interrupt(run)
      expect(code, stderr).toBe(5)
      expect(took, stderr).toBeLessThan(1000)
      expect(stderr).toMatch(/ESTOPPED/)
      expect(stderr).not.toMatch(/could not stop in time/)
    } finally {
      await r.close()
      run.child.kill('SIGKILL')
    }
  })

  it('convert into a FIFO whose reader goes away: named (the reader went away, EPIPE), exit 5, the summary', async () => {
    const input = bigHex('big-epipe.hex')
    const out = fifo()
    const run = start(['convert', input, out, '--into', 'hex'])
    try {
      const r = await open(out, 'r')
      await r.read(Buffer.alloc(65536), 0, 65536)
      await r.close() // gone, with most still to come
      const code = await Promise.race([run.exited, sleep(10_000).then(() => 'still running' as const)])
      const { stderr } = run.out()
      expect(code, stderr).toBe(5)
      expect(stderr).toMatch(/cannot write .*: the reader went away \(EPIPE\)/)
      expect(stderr).toMatch(/skipped: output failed/)
    } finally {
      run.child.kill('SIGKILL')
    }
  })

  it('calls of two FIFOs, Ctrl-C while reading the first: the second (opened after the stop) holds nothing up', async () => {
    const f1 = fifo()
    const f2 = fifo()
    const run = start(['calls', f1, f2])
    const w = await open(f1, 'w')
    try {
      await w.write(part)
      await sleep(700)
      const { code, took, stderr } = await interrupt(run)
      expect(code, stderr).toBe(0)
      expect(took, stderr).toBeLessThan(1000)
      expect(stderr).not.toMatch(/could not stop in time/)
    } finally {
      await w.close()
      run.child.kill('SIGKILL')
    }
  })

  it('calls - with a quiet pipe on stdin: Ctrl-C ends it (calls read stdin through a source of its own, which no stop ended)', async () => {
    const child = spawn(process.execPath, [BIN, 'calls', '-'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((r) => child.on('close', r))
    try {
      child.stdin.write(part) // and the pipe stays open, silent
      await sleep(700)
      const t = Date.now()
      child.kill('SIGINT')
      const code = await Promise.race([exited, sleep(5000).then(() => 'still running' as const)])
      expect(code, stderr).toBe(0)
      expect(Date.now() - t, stderr).toBeLessThan(1000)
      expect(stderr).not.toMatch(/could not stop in time/)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('convert into a FIFO whose reader comes later: every line, exit 0', async () => {
    const out = fifo()
    const run = start(['convert', fixture('captures/sip-udp.pcap'), out, '--into', 'hex'])
    try {
      await sleep(300) // hep waits for a reader
      const r = await open(out, 'r')
      const text = (await r.readFile()).toString()
      await r.close()
      expect(await run.exited, run.out().stderr).toBe(0)
      expect(text.trim().split('\n')).toHaveLength(18)
    } finally {
      run.child.kill('SIGKILL')
    }
  })
})
