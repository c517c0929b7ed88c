// listen --json into a file takes two threads (#15): the main thread receives, the output thread
// (src/listen/out-thread.ts) writes the JSON lines. Its output must be the one-thread path's, byte
// for byte; counts add up; a stop loses nothing received; the worker dying is an internal error.
import { spawn } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encode } from '../../src/hep/index.js'
import { compressPacket } from '../../src/hep/compress.js'
import { decodeDatagram } from '../../src/hep/codec.js'
import { BIN, ROOT, fixture, packetLines, summaryOf } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'hep-threads-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const hexLines = (f: string) =>
  readFileSync(fixture(`hep/${f}`), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Buffer.from(l.trim(), 'hex'))

/** Every UDP fixture of fixtures/hep (HEP1, 2, 3, IPv6 inside, extras), compressed payloads, malformed ones. */
function samples(): Buffer[] {
  const out: Buffer[] = []
  for (const f of [
    'hep-v1.hex',
    'hep-v1-ipv6.hex',
    'hep-v2.hex',
    'hep-v2-ipv6.hex',
    'hep-v2-sngrep.hex',
    'hep-v3.hex',
    'hep-v3-ipv6.hex',
    'hep-v3-extras.hex',
    'hep-v3-hepjs.hex',
    'hep-v3-sngrep.hex',
    'hep-v3-with-sip.hex',
  ])
    out.push(...hexLines(f))
  const v3 = hexLines('hep-v3.hex')
  for (const m of ['gzip', 'zlib', 'deflate'] as const)
    out.push(Buffer.from(encode(compressPacket(decodeDatagram(v3[0]), m))))
  out.push(Buffer.from('not HEP at all'), v3[1].subarray(0, 40), Buffer.alloc(0))
  return out
}

interface Running {
  child: ReturnType<typeof spawn>
  stderr: () => string
  exited: Promise<number | null>
  waitFor: (re: RegExp) => Promise<RegExpMatchArray>
}

/** hep listen with stdout into a file (the two-thread path unless env says otherwise). */
function listenToFile(
  args: string[],
  env: Record<string, string> = {},
  file = join(dir, `out-${Math.random().toString(36).slice(2)}.jsonl`),
): { l: Running; file: string } {
  const fd = openSync(file, 'w')
  const child = spawn(process.execPath, [BIN, 'listen', '--udp', '127.0.0.1:0', '--json', ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', HEP_DEBUG: 'threads', ...env },
    stdio: ['ignore', fd, 'pipe'],
  })
  closeSync(fd)
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  void exited.then(() => clearTimeout(killer))
  const waitFor = async (re: RegExp) => {
    for (const t0 = Date.now(); Date.now() - t0 < 10_000; await new Promise((r) => setTimeout(r, 20))) {
      const m = err.match(re)
      if (m) return m
    }
    throw new Error(`timed out waiting for ${re}; stderr:\n${err.slice(-2000)}`)
  }
  return { l: { child, stderr: () => err, exited, waitFor }, file }
}

async function portOf(l: Running): Promise<number> {
  return Number((await l.waitFor(/listening on udp 127\.0\.0\.1:(\d+)/))[1])
}

/** Sends each datagram, pausing now and then so the kernel buffer never overflows. */
async function send(s: Socket, port: number, pkts: Buffer[]): Promise<void> {
  for (let i = 0; i < pkts.length; i++) {
    await new Promise<void>((r) => s.send(pkts[i], port, '127.0.0.1', () => r()))
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5))
  }
}

const summaryNoTime = (text: string) => {
  const { seconds: _s, ...rest } = summaryOf(text)
  return rest
}

/** Waits until the file holds `n` packet lines (the output is written as it arrives). */
async function linesIn(file: string, n: number, ms = 10_000): Promise<void> {
  const t0 = Date.now()
  while (packetLines(readFileSync(file, 'utf8')).length < n) {
    if (Date.now() - t0 > ms) throw new Error(`${file}: fewer than ${n} lines after ${ms} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('listen --json > file on two threads', () => {
  let sender: Socket
  beforeAll(async () => {
    sender = createSocket('udp4')
    await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()))
  })
  afterAll(() => sender.close())

  const pkts = samples()
  const good = pkts.filter((p) => {
    try {
      decodeDatagram(p)
      return true
    } catch {
      return false
    }
  })

  async function run(env: Record<string, string>, args: string[] = []) {
    const { l, file } = listenToFile(args, env)
    const port = await portOf(l)
    await send(sender, port, pkts)
    // the malformed ones come last: once all are said, every packet was received (a stop writes them all)
    await l.waitFor(new RegExp(`(^error: udp .*\\n){${pkts.length - good.length}}`, 'm'))
    l.child.kill('SIGINT')
    expect(await l.exited).toBe(0)
    return { text: readFileSync(file, 'utf8'), err: l.stderr() }
  }

  it('writes the one-thread path’s JSON lines byte for byte: HEP1/2/3, IPv6, compressed, malformed among them', async () => {
    const one = await run({ HEP_LISTEN_THREADS: '1' })
    const writes = await run({ HEP_LISTEN_THREADS: 'writes' })
    const decodes = await run({})
    expect(one.err).not.toContain('second thread')
    expect(writes.err).toContain('JSON lines written on a second thread\n')
    expect(decodes.err).toContain('JSON lines written on a second thread, which decodes and counts too')
    expect(good.length).toBeGreaterThan(300)
    expect(good.length).toBeLessThan(pkts.length) // the malformed ones are not lines
    const errors = (t: string) => t.split('\n').filter((l) => l.startsWith('error: udp'))
    expect(errors(one.err)).toHaveLength(pkts.length - good.length)
    for (const two of [writes, decodes]) {
      expect(packetLines(two.text)).toHaveLength(good.length)
      expect(two.text.slice(0, two.text.lastIndexOf('{"summary"'))).toBe(
        one.text.slice(0, one.text.lastIndexOf('{"summary"')),
      )
      const s = summaryNoTime(two.text)
      expect(s).toEqual(summaryNoTime(one.text))
      expect(s).toMatchObject({
        received: good.length,
        shown: good.length,
        malformed: pkts.length - good.length,
      })
      // the malformed ones said alike, in the same order (the decoding thread says them too)
      expect(errors(two.err)).toEqual(errors(one.err))
    }
  })

  it('a ring of 512 KiB that wraps many times: every line whole and in order, counts add up', async () => {
    const one = await run({ HEP_LISTEN_THREADS: '1' })
    const expected = packetLines(one.text)
    const { l, file } = listenToFile(['--output-buffer', '512k'])
    const port = await portOf(l)
    const rounds = 8 // about 1.7 MB through the ring
    for (let i = 0; i < rounds; i++) await send(sender, port, pkts)
    // a marker of our own until it is seen (while the ring is full the listener drops, markers too)
    let markers = 0
    const marker = Buffer.from('Zend of the test')
    while (!/first byte 0x5a/.test(l.stderr())) {
      expect(markers++).toBeLessThan(200)
      sender.send(marker, port, '127.0.0.1')
      await new Promise((r) => setTimeout(r, 50))
    }
    l.child.kill('SIGINT')
    expect(await l.exited).toBe(0)
    const text = readFileSync(file, 'utf8')
    const lines = packetLines(text)
    const s = summaryOf(text) as {
      received: number
      shown: number
      malformed: number
      dropped: { output: number; kernel: number }
    }
    expect(s.shown).toBe(lines.length)
    expect(s.received).toBe(s.shown)
    expect(s.shown + s.malformed + s.dropped.output + s.dropped.kernel).toBe(rounds * pkts.length + markers)
    // each line is the one-thread path's line of the packet in that place (none cut, none reordered)
    let k = 0
    for (const line of lines) {
      while (k < rounds * expected.length && expected[k % expected.length] !== line) k++
      expect(k).toBeLessThan(rounds * expected.length)
      k++
    }
    if (s.dropped.output + s.dropped.kernel === 0)
      expect(lines).toEqual(Array.from({ length: rounds }, () => expected).flat())
  })

  it('with --time-byte-order be and a filter: the same lines, and received = shown + filtered', async () => {
    const args = ['--time-byte-order', 'be', '--method', 'INVITE']
    const one = await run({ HEP_LISTEN_THREADS: '1' }, args)
    const two = await run({}, args)
    expect(two.err).toContain('second thread')
    const lines = packetLines(two.text)
    expect(lines.length).toBeGreaterThan(10)
    expect(two.text.slice(0, two.text.lastIndexOf('{"summary"'))).toBe(
      one.text.slice(0, one.text.lastIndexOf('{"summary"')),
    )
    const s = summaryNoTime(two.text) as { received: number; shown: number; filtered: number }
    expect(s).toEqual(summaryNoTime(one.text))
    expect(s.shown).toBe(lines.length)
    expect(s.received).toBe(s.shown + s.filtered)
    expect(s.filtered).toBeGreaterThan(0)
  })

  it.each([
    ['decoding on the output thread', []],
    ['decoding on the main thread (with --write)', ['--write', join(dir, 'mid.pcap')]],
  ])(
    'Ctrl-C in mid-stream, %s: every packet received is in the file, counts add up, out within 1 s',
    async (_what, args) => {
      const { l, file } = listenToFile(args)
      const port = await portOf(l)
      const v3 = hexLines('hep-v3.hex')
      let sending = true
      let sent = 0
      const pump = async () => {
        while (sending) {
          for (let k = 0; k < 50; k++) sender.send(v3[sent++ % v3.length], port, '127.0.0.1')
          await new Promise((r) => setTimeout(r, 2))
        }
      }
      const pumping = pump()
      await linesIn(file, 2000)
      const t0 = Date.now()
      l.child.kill('SIGINT')
      const code = await l.exited
      const took = Date.now() - t0
      sending = false
      await pumping
      expect(code).toBe(0)
      expect(took).toBeLessThan(1500) // 1 s, and the start-up of a loaded machine's process exit
      const text = readFileSync(file, 'utf8')
      const s = summaryOf(text) as { received: number; shown: number; dropped: { output: number } }
      expect(s.shown).toBe(s.received)
      expect(packetLines(text)).toHaveLength(s.shown)
      expect(s.received).toBeLessThanOrEqual(sent)
      expect(s.dropped.output).toBe(0)
      if (args.length === 0) return
      // the pcap saved on the main thread holds the same packets
      const pcap = readFileSync(join(dir, 'mid.pcap'))
      let records = 0
      for (let o = 24; o + 16 <= pcap.length; o += 16 + pcap.readUInt32LE(o + 8)) records++
      expect(records).toBe(s.shown)
    },
  )

  it('only malformed datagrams: exit 1 as on one thread, the same summary; SIGTERM ends it', async () => {
    const junk = [Buffer.from('not HEP at all'), Buffer.alloc(0), Buffer.from('HEP3\x00\x05')]
    const results = []
    for (const env of [{ HEP_LISTEN_THREADS: '1' }, {}] as Record<string, string>[]) {
      const { l, file } = listenToFile(['--duration', '30'], env)
      const port = await portOf(l)
      await send(sender, port, junk)
      await l.waitFor(new RegExp(`(^error: udp .*\\n){${junk.length}}`, 'm'))
      l.child.kill('SIGTERM')
      results.push({ code: await l.exited, s: summaryNoTime(readFileSync(file, 'utf8')), err: l.stderr() })
    }
    expect(results[1].err).toContain('decodes and counts too')
    expect(results.map((r) => r.code)).toEqual([1, 1])
    expect(results[1].s).toEqual(results[0].s)
    expect(results[1].s).toMatchObject({ received: 0, shown: 0, malformed: junk.length })
  })

  it('--duration ends it on the two-thread path, with every packet written', async () => {
    const { l, file } = listenToFile(['--duration', '1'])
    const port = await portOf(l)
    await send(sender, port, hexLines('hep-v3.hex'))
    expect(await l.exited).toBe(0)
    const text = readFileSync(file, 'utf8')
    expect(packetLines(text)).toHaveLength(39)
    expect(summaryOf(text)).toMatchObject({ received: 39, shown: 39 })
  })

  it('--count ends by itself: the worker does not keep the process alive', async () => {
    const { l, file } = listenToFile(['--count', '25'])
    const port = await portOf(l)
    await send(sender, port, hexLines('hep-v3.hex'))
    expect(await l.exited).toBe(0)
    const text = readFileSync(file, 'utf8')
    expect(packetLines(text)).toHaveLength(25)
    expect(summaryOf(text)).toMatchObject({ shown: 25 })
  })

  it('the worker dying: an internal error named, exit 70, the lines lost counted, no hang', async () => {
    const { l, file } = listenToFile([], { HEP_TEST_LISTEN_WORKER_CRASH: '10' })
    const port = await portOf(l)
    const v3 = hexLines('hep-v3.hex')
    const t0 = Date.now()
    // it stops on its own: no signal is sent
    const stopped = (async () => {
      while (Date.now() - t0 < 10_000) {
        await send(sender, port, v3)
        await new Promise((r) => setTimeout(r, 5))
        if (l.child.exitCode !== null) return
      }
    })()
    expect(await l.exited).toBe(70)
    expect(Date.now() - t0).toBeLessThan(5000)
    await stopped
    expect(l.stderr()).toMatch(/internal error \(a bug: .*\): the output thread failed: test crash after 10/)
    const text = readFileSync(file, 'utf8')
    const s = summaryOf(text) as {
      shown: number
      received: number
      notPrinted: number
      kinds: { captureId: string; type: string; packets: number }[]
    }
    const lines = packetLines(text).length
    expect(lines).toBeLessThanOrEqual(10)
    expect(s.notPrinted).toBeGreaterThan(0)
    expect(lines + s.notPrinted).toBe(s.shown)
    // the counts by kind still add up to what was received: what the dead thread never told is a
    // row of its own (they were an empty table)
    expect(s.kinds.reduce((a, k) => a + k.packets, 0)).toBe(s.received)
    expect(s.kinds).toContainEqual(expect.objectContaining({ captureId: 'unknown', type: 'unknown' }))
  })

  it('the worker dying later: its counts by kind as it last told them, the rest as unknown', async () => {
    // it dies at the 40th packet: the 39 before it were told (the second burst came within 500 ms of
    // the first telling: it is told once the traffic stops)
    const { l, file } = listenToFile([], { HEP_TEST_LISTEN_WORKER_CRASH: '39' })
    const port = await portOf(l)
    const v3 = hexLines('hep-v3.hex')
    await send(sender, port, v3.slice(0, 20))
    await new Promise((r) => setTimeout(r, 100))
    await send(sender, port, v3.slice(20))
    await new Promise((r) => setTimeout(r, 1200))
    const t0 = Date.now()
    while (l.child.exitCode === null && Date.now() - t0 < 10_000) {
      await send(sender, port, v3)
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(await l.exited).toBe(70)
    const s = summaryOf(readFileSync(file, 'utf8')) as {
      received: number
      kinds: { captureId: string; type: string; packets: number }[]
    }
    expect(s.kinds.reduce((a, k) => a + k.packets, 0)).toBe(s.received)
    const told = s.kinds.filter((k) => k.captureId !== 'unknown').reduce((a, k) => a + k.packets, 0)
    expect(told).toBe(39)
    expect(s.received).toBeGreaterThan(39)
  })

  it.skipIf(!existsSync('/dev/full'))(
    'stdout on a full device: one "cannot write stdout: disk full (ENOSPC)" from the thread, exit 5',
    async () => {
      const { l } = listenToFile([], {}, '/dev/full')
      const port = await portOf(l)
      expect(l.stderr()).toContain('second thread')
      const v3 = hexLines('hep-v3.hex')
      const t0 = Date.now()
      while (l.child.exitCode === null && Date.now() - t0 < 10_000) {
        await send(sender, port, v3)
        await new Promise((r) => setTimeout(r, 5))
      }
      expect(await l.exited).toBe(5)
      expect(l.stderr().match(/cannot write stdout: disk full \(ENOSPC\)/g)).toHaveLength(1)
      expect(l.stderr()).toMatch(/listened .* s: \d+ packets/) // the summary, on stderr
    },
  )
})
