import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, it, expect } from 'vitest'
import { HepError } from '../../src/errors.js'
import { CaptureReader, LINKTYPE, type CaptureRecord } from '../../src/pcap/read/index.js'
import { PcapWriter } from '../../src/pcap/writer.js'

const DIR = fileURLToPath(new URL('../../fixtures/captures/', import.meta.url))
const fixture = (name: string): string => resolve(DIR, name)
const tmp = mkdtempSync(join(tmpdir(), 'hep-pcap-writer-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

async function readAll(
  source: string | NodeJS.ReadableStream,
): Promise<{ recs: CaptureRecord[]; reader: CaptureReader }> {
  const reader = new CaptureReader(source)
  const recs: CaptureRecord[] = []
  for await (const batch of reader.batches()) recs.push(...batch)
  return { recs, reader }
}

const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0

function epochNs(s: string): bigint {
  const [sec, frac = ''] = s.split('.')
  return BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9))
}
const ns = (r: { seconds: number; nanos: number }): bigint =>
  BigInt(r.seconds) * 1_000_000_000n + BigInt(r.nanos)

describe('PcapWriter', () => {
  for (const precision of ['us', 'ns'] as const) {
    it(`writes the records of sip-udp.pcapng as a ${precision} pcap that reads back the same`, async () => {
      const { recs: src } = await readAll(fixture('sip-udp.pcapng'))
      expect(src.length).toBe(18)
      expect(src.some((r) => r.nanos % 1000 !== 0)).toBe(true)
      const path = join(tmp, `sip-udp-${precision}.pcap`)
      const w = new PcapWriter(path, { precision })
      for (const r of src) if (!w.write(r)) await w.flush()
      expect(w.count).toBe(18)
      await w.close()
      await w.close() // twice is fine

      const file = readFileSync(path)
      expect(file.readUInt32LE(0)).toBe(precision === 'ns' ? 0xa1b23c4d : 0xa1b2c3d4)
      expect(file.length).toBe(24 + src.reduce((n, r) => n + 16 + r.data.length, 0))

      const { recs, reader } = await readAll(path)
      expect(reader.info).toEqual({
        format: 'pcap',
        byteOrder: 'le',
        precision,
        compressed: false,
        linkTypes: [1],
      })
      expect(recs.length).toBe(18)
      recs.forEach((r, i) => {
        expect(r.data.equals(src[i].data)).toBe(true)
        expect(r.originalLength).toBe(src[i].originalLength)
        expect(r.linkType).toBe(LINKTYPE.ETHERNET)
        expect(r.seconds).toBe(src[i].seconds)
        // µs: truncated, never rounded
        expect(r.nanos).toBe(precision === 'ns' ? src[i].nanos : Math.floor(src[i].nanos / 1000) * 1000)
      })
      // identical to the µs file dumpcap wrote of the same capture
      if (precision === 'us') {
        const ref = (await readAll(fixture('sip-udp.pcap'))).recs
        expect(recs.map(ns)).toEqual(ref.map(ns))
      }

      if (hasTshark) {
        const out = spawnSync(
          'tshark',
          ['-r', path, '-T', 'fields', '-e', 'frame.number', '-e', 'frame.time_epoch'],
          {
            encoding: 'utf8',
          },
        )
        expect(out.status, out.stderr).toBe(0)
        const lines = out.stdout.trim().split('\n')
        expect(lines.length).toBe(18)
        lines.forEach((line, i) => {
          const [num, epoch] = line.split('\t')
          expect(Number(num)).toBe(i + 1)
          expect(epochNs(epoch)).toBe(ns(recs[i]))
        })
      }
    })
  }

  it.skipIf(!hasTshark)('tshark reads a written capture with another link type and a snaplen', async () => {
    const { recs: src } = await readAll(fixture('sip-udp-any-sll.pcap'))
    const path = join(tmp, 'sll.pcap')
    const w = new PcapWriter(path, { linkType: LINKTYPE.LINUX_SLL, snaplen: 200 })
    for (const r of src) w.write(r)
    await w.close()
    const out = spawnSync(
      'tshark',
      ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'sll.pkttype'],
      {
        encoding: 'utf8',
      },
    )
    expect(out.status, out.stderr).toBe(0)
    const lines = out.stdout.trim().split('\n')
    expect(lines.length).toBe(src.length)
    lines.forEach((line, i) => {
      const [len, caplen] = line.split('\t').map(Number)
      expect(len).toBe(src[i].originalLength)
      expect(caplen).toBe(Math.min(200, src[i].data.length))
    })
  })

  it('writes to a stream; snaplen cuts records, flagged truncated on reading back', async () => {
    const { recs: src } = await readAll(fixture('sip-udp.pcap'))
    const sink = new PassThrough()
    const parts: Buffer[] = []
    sink.on('data', (c: Buffer) => parts.push(c))
    const ended = new Promise((r) => sink.on('end', r))
    const w = new PcapWriter(sink, { snaplen: 100, linkType: LINKTYPE.RAW, precision: 'ns' })
    for (const r of src) w.write({ seconds: r.seconds, nanos: r.nanos, data: r.data })
    await w.close()
    await ended
    const file = Buffer.concat(parts)
    expect(file.readUInt32LE(16)).toBe(100)
    expect(file.readUInt32LE(20)).toBe(LINKTYPE.RAW)
    const { recs } = await readAll(new PassThrough().end(file))
    expect(recs.length).toBe(18)
    recs.forEach((r, i) => {
      expect(r.linkType).toBe(LINKTYPE.RAW)
      expect(r.data.length).toBe(100)
      expect(r.originalLength).toBe(src[i].data.length)
      expect(r.truncated).toBe(true)
      expect(r.data.equals(src[i].data.subarray(0, 100))).toBe(true)
    })
  })

  it('honours backpressure: write() says when to wait, flush() resolves once the stream drained', async () => {
    let received = 0
    let maxBuffered = 0
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        received += chunk.length
        setImmediate(cb)
      },
    })
    const w = new PcapWriter(slow)
    const data = Buffer.alloc(1000, 0x42)
    let waits = 0
    for (let i = 0; i < 5000; i++) {
      if (!w.write({ seconds: 1_700_000_000 + i, nanos: 999_999_999, data })) {
        waits++
        await w.flush()
      }
      maxBuffered = Math.max(maxBuffered, slow.writableLength)
    }
    await w.close()
    expect(waits).toBeGreaterThan(10)
    expect(maxBuffered).toBeLessThanOrEqual(2 * 64 * 1024 + 16 * 1024)
    expect(received).toBe(24 + 5000 * 1016)
    expect(slow.writableFinished).toBe(true)
  })

  it('records larger than the internal buffer, and odd timestamps', async () => {
    const sink = new PassThrough()
    const w = new PcapWriter(sink)
    const big = Buffer.alloc(200_000)
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff
    w.write({ seconds: 10, nanos: 999_999, data: Buffer.from('a') }) // 999 µs
    w.write({ seconds: 10, nanos: 1_500_000_000, data: big }) // carried: 11.5 s
    w.write({ seconds: 12, nanos: 0, data: Buffer.alloc(0), originalLength: 60 })
    const closing = w.close()
    const { recs } = await readAll(sink)
    await closing
    expect(recs.map((r) => [r.seconds, r.nanos, r.data.length, r.originalLength, r.truncated])).toEqual([
      [10, 999_000, 1, 1, false],
      [11, 500_000_000, 200_000, 200_000, false],
      [12, 0, 0, 60, true],
    ])
    expect(recs[1].data.equals(big)).toBe(true)
  })

  it('rejects what pcap cannot hold, and writes after close', async () => {
    const w = new PcapWriter(new PassThrough())
    expect(() => w.write({ seconds: -1, nanos: 0, data: Buffer.alloc(1) })).toThrow(HepError)
    expect(() => w.write({ seconds: 2 ** 32, nanos: 0, data: Buffer.alloc(1) })).toThrow(HepError)
    expect(() => new PcapWriter(new PassThrough(), { snaplen: 0 })).toThrow(HepError)
    expect(w.count).toBe(0)
    await w.close()
    expect(() => w.write({ seconds: 1, nanos: 0, data: Buffer.alloc(1) })).toThrow(/after close/)
  })

  it('an empty capture is just the header', async () => {
    const path = join(tmp, 'empty.pcap')
    const w = new PcapWriter(path)
    await w.close()
    expect(readFileSync(path).length).toBe(24)
    const { recs } = await readAll(path)
    expect(recs).toEqual([])
  })
})
