// The one output writer behind stdout and every file (issue #10/#11): bounded, reporting its first
// error once in words and never throwing, handing over only whole items (lines, packets, records).
import fc from 'fast-check'
import { existsSync } from 'node:fs'
import { endianness } from 'node:os'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { HepPacket } from '../../src/hep/packet.js'
import { procUdpDrops } from '../../src/net/udp-listener.js'
import { PcapWriter } from '../../src/pcap/writer.js'
import { OutputWriter, parseSize, type OutputError } from '../../src/output/writer.js'

/** A stream that takes writes but never finishes them until release() (a stalled reader). */
function stalled(): { stream: Writable; release: () => void; got: () => number } {
  let pending: (() => void)[] = []
  let held = false
  let got = 0
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _e, done) {
      got += chunk.length
      if (held) pending.push(done)
      else done()
    },
  })
  held = true
  return {
    stream,
    got: () => got,
    release: () => {
      held = false
      const p = pending
      pending = []
      for (const d of p) d()
    },
  }
}

/** A stream whose writes fail with `code` from the `after`-th on. */
function failing(code: string, after = 0): Writable {
  let n = 0
  return new Writable({
    write(_chunk, _e, done) {
      if (n++ >= after) done(Object.assign(new Error(`${code}: simulated`), { code }))
      else done()
    },
  })
}

const tick = () => new Promise((r) => setImmediate(r))

describe('OutputWriter', () => {
  it('counts what the OS has not taken yet, says when it is over the bound, and drains', async () => {
    const s = stalled()
    const w = new OutputWriter(s.stream, { maxBuffer: 100_000 })
    const line = 'x'.repeat(99)
    let n = 0
    while (!w.full) {
      w.line(line)
      n++
      if (n % 100 === 0) await tick()
      if (n > 10_000) throw new Error('never full')
    }
    expect(n).toBeGreaterThanOrEqual(1000) // 100 bytes a line: the bound, not less
    expect(n).toBeLessThanOrEqual(1100)
    expect(w.buffered).toBeGreaterThanOrEqual(100_000)
    let drained = false
    const d = w.drained().then(() => (drained = true))
    await tick()
    expect(drained).toBe(false) // a stalled reader holds the producer back
    s.release()
    await d
    expect(w.full).toBe(false)
    expect(w.buffered).toBe(0)
    await w.end()
    expect(s.got()).toBe(n * 100)
  })

  it('endWithin: a reader that takes nothing does not hold the stop; what it did not take is counted', async () => {
    const s = stalled()
    const w = new OutputWriter(s.stream)
    for (let i = 0; i < 500; i++) w.line('not taken')
    const t0 = Date.now()
    await w.endWithin(150)
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(w.abandoned).toBe(500)
    expect(w.closed).toBe(true)
    await w.end() // the same end, already over
  })

  it('waiting many times on a stalled stream adds no listeners (no MaxListenersExceeded)', async () => {
    const s = stalled()
    const w = new OutputWriter(s.stream, { maxBuffer: 1000 })
    const before = s.stream.listenerCount('drain') + s.stream.listenerCount('error')
    const waits: Promise<void>[] = []
    for (let i = 0; i < 100; i++) {
      w.write(Buffer.alloc(100))
      waits.push(w.drained())
    }
    expect(s.stream.listenerCount('drain') + s.stream.listenerCount('error')).toBe(before)
    s.release()
    await Promise.all(waits)
  })

  for (const [code, words] of [
    ['ENOSPC', 'disk full (ENOSPC)'],
    ['EIO', 'input/output error (EIO)'],
    ['EBADF', 'not an open file descriptor (EBADF)'],
    ['EPIPE', 'the reader went away (EPIPE)'],
  ]) {
    it(`${code}: reported once through onError, in words, never thrown; later writes are ignored`, async () => {
      const errors: OutputError[] = []
      const w = new OutputWriter(failing(code, 1), { name: 'out.hep', onError: (e) => errors.push(e) })
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 1000; i++) w.line('some line')
        w.flush()
        await w.drained()
        await tick()
      }
      await w.end()
      expect(errors.map((e) => [e.path, e.code, e.reason, e.message])).toEqual([
        ['out.hep', code, words, `out.hep: ${words}`],
      ])
      expect(w.closed).toBe(true)
      expect(w.confirmedItems).toBe(1000) // the first write went through, nothing after
    })
  }

  it('a file on a full device (/dev/full): one error naming the path, end() resolves', async (ctx) => {
    if (!existsSync('/dev/full')) ctx.skip('/dev/full: not on this system')
    const errors: OutputError[] = []
    const w = new OutputWriter('/dev/full', { onError: (e) => errors.push(e) })
    for (let i = 0; i < 10_000; i++) w.line('a line of text that goes nowhere')
    await w.drained()
    await w.end()
    expect(errors.map((e) => e.message)).toEqual(['/dev/full: disk full (ENOSPC)'])
  })

  it('a pcap on a full device: writes and close() never throw, the error is kept', async (ctx) => {
    if (!existsSync('/dev/full')) ctx.skip('/dev/full: not on this system')
    const errors: OutputError[] = []
    const w = new PcapWriter('/dev/full', { output: { onError: (e) => errors.push(e) } })
    for (let i = 0; i < 2000; i++) {
      if (!w.write({ seconds: 1, nanos: 0, data: Buffer.alloc(500) })) await w.flush()
    }
    await w.flush()
    await w.close()
    expect(w.error?.reason).toBe('disk full (ENOSPC)')
    expect(errors).toHaveLength(1)
  })

  it('hands over only whole items: every write ends where a line, packet or record ends', async () => {
    const packet = (payload: Buffer): HepPacket => ({
      version: 3,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      payloadType: 1,
      payload,
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 300 }).map((s) => ({ kind: 'line' as const, s })),
            fc.uint8Array({ maxLength: 300 }).map((a) => ({ kind: 'json' as const, b: Buffer.from(a) })),
            fc.uint8Array({ maxLength: 300 }).map((a) => ({ kind: 'hex' as const, b: Buffer.from(a) })),
          ),
          { maxLength: 60 },
        ),
        fc.constantFrom(16, 64, 200),
        async (items, chunkSize) => {
          const writes: number[] = []
          const stream = new Writable({
            write(chunk: Buffer, _e, done) {
              writes.push(chunk.length)
              done()
            },
          })
          const w = new OutputWriter(stream, { chunkSize, flushAt: 1 << 30 })
          const ends = new Set<number>([0])
          for (const it of items) {
            if (it.kind === 'line') w.line(it.s)
            else if (it.kind === 'json') w.packet(packet(it.b))
            else w.hexLine(it.b)
            // the offset where this item ends: what the stream got so far plus what is pending
            ends.add(writes.reduce((a, b) => a + b, 0) + w.bytes.pending)
          }
          await w.end()
          let at = 0
          for (const n of writes) {
            at += n
            expect(ends.has(at)).toBe(true)
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it('parses sizes for --output-buffer', () => {
    expect(parseSize('64M')).toBe(64 * 1024 * 1024)
    expect(parseSize('512k')).toBe(512 * 1024)
    expect(parseSize('1GiB')).toBe(1024 ** 3)
    expect(parseSize('1048576')).toBe(1048576)
    expect(parseSize('0')).toBeUndefined()
    expect(parseSize('lots')).toBeUndefined()
  })
})

describe('kernel UDP drops from /proc/net/udp', () => {
  const udp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
    '  123: 0100007F:2364 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 43000',
    '  124: 00000000:2364 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 7',
  ].join('\n')
  const udp6 = [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
    '  9: 00000000000000000000000001000000:2365 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 12',
  ].join('\n')
  it.skipIf(endianness() !== 'LE')(
    'finds the socket by its local address and port (the last column is the count)',
    () => {
      expect(procUdpDrops({ address: '127.0.0.1', port: 9060, family: 'IPv4' }, udp)).toBe(43000)
      expect(procUdpDrops({ address: '0.0.0.0', port: 9060, family: 'IPv4' }, udp)).toBe(7)
      expect(procUdpDrops({ address: '::1', port: 9061, family: 'IPv6' }, udp6)).toBe(12)
      expect(procUdpDrops({ address: '127.0.0.1', port: 9999, family: 'IPv4' }, udp)).toBeUndefined()
    },
  )
})
