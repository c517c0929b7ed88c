import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { describe, it, expect } from 'vitest'
import { CaptureError } from '../../src/errors.js'
import {
  CaptureReader,
  isCaptureMagic,
  LINKTYPE,
  type CaptureInfo,
  type CaptureRecord,
} from '../../src/pcap/read/index.js'

const DIR = fileURLToPath(new URL('../../fixtures/captures/', import.meta.url))
const fixture = (name: string): string => resolve(DIR, name)
const bytes = (name: string): Buffer => readFileSync(fixture(name))

interface Result {
  recs: CaptureRecord[]
  error: unknown
  info: CaptureInfo | undefined
  bytesRead: number
}

async function collect(source: string | NodeJS.ReadableStream, readSize?: number): Promise<Result> {
  const reader = new CaptureReader(source, readSize === undefined ? {} : { readSize })
  const recs: CaptureRecord[] = []
  let error: unknown
  try {
    for await (const batch of reader.batches()) recs.push(...batch)
  } catch (e) {
    error = e
  }
  return { recs, error, info: reader.info, bytesRead: reader.bytesRead }
}

/** A stream handing out `buf` in chunks of `size` bytes (views into buf, as a file stream would). */
function chunked(buf: Buffer, size: number | (() => number)): Readable {
  const next = typeof size === 'number' ? () => size : size
  return Readable.from(
    (function* () {
      for (let p = 0; p < buf.length;) {
        const n = Math.max(1, next())
        yield buf.subarray(p, p + n)
        p += n
      }
    })(),
  )
}

function captureError(e: unknown): CaptureError {
  expect(e).toBeInstanceOf(CaptureError)
  return e as CaptureError
}

/** ns since the epoch as a bigint, from a record or from a tshark "sec.frac" string */
const ns = (r: { seconds: number; nanos: number }): bigint =>
  BigInt(r.seconds) * 1_000_000_000n + BigInt(r.nanos)
function epochNs(s: string): bigint {
  const [sec, frac = ''] = s.split('.')
  return BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9))
}

/** capinfos lines of INDEX-sip.txt: name, format, encapsulation, record count */
function index(): Map<string, { format: string; encap: string; count: number }> {
  const m = new Map<string, { format: string; encap: string; count: number }>()
  for (const line of readFileSync(fixture('INDEX-sip.txt'), 'utf8').split('\n')) {
    const f = line.trim().split('\t')
    if (f.length >= 4 && /\.pcap(ng)?$/.test(f[0]) && /^\d+$/.test(f[3])) {
      m.set(f[0], { format: f[1], encap: f[2], count: Number(f[3]) })
    }
  }
  return m
}

const ENCAP: Record<string, number[]> = {
  ether: [LINKTYPE.ETHERNET],
  'linux-sll': [LINKTYPE.LINUX_SLL],
  'linux-sll2': [LINKTYPE.LINUX_SLL2],
  null: [LINKTYPE.NULL],
  rawip: [LINKTYPE.RAW],
}

const SIP_CAPTURES = readdirSync(DIR)
  .filter((f) => /^sip-.*\.pcap(ng)?$/.test(f))
  .sort()

describe('CaptureReader on real captures', () => {
  const idx = index()

  it('knows every sip capture of the index', () => {
    expect(SIP_CAPTURES.length).toBeGreaterThanOrEqual(20)
    for (const f of SIP_CAPTURES) expect(idx.has(f), f).toBe(true)
    expect(idx.get('sip-udp.pcap')?.count).toBe(18)
    expect(idx.get('sip-udp-any-sll.pcap')?.count).toBe(12)
    expect(idx.get('sip-udp-2ifaces.pcapng')?.count).toBe(12)
    expect(idx.get('sip-rtp.pcap')?.count).toBe(242)
  })

  for (const name of SIP_CAPTURES) {
    it(`${name}: record count, link types and the timestamps tshark saw`, async () => {
      const want = idx.get(name)!
      const { recs, error, info } = await collect(fixture(name))
      expect(error).toBeUndefined()
      expect(recs.length).toBe(want.count)
      expect(info?.format).toBe(name.endsWith('.pcapng') ? 'pcapng' : 'pcap')
      expect(info?.compressed).toBe(false)
      if (want.format === 'nsecpcap') expect(info?.precision).toBe('ns')
      if (want.format === 'pcap') expect(info?.precision).toBe('us')
      const links = ENCAP[want.encap] ?? [LINKTYPE.ETHERNET, LINKTYPE.LINUX_SLL] // per-packet: the 2-interface file
      expect([...new Set(recs.map((r) => r.linkType))].sort((a, b) => a - b)).toEqual(links)
      expect(info?.linkTypes.slice().sort((a, b) => a - b)).toEqual(links)

      recs.forEach((r, i) => {
        expect(r.index).toBe(i + 1)
        expect(r.truncated).toBe(false)
        expect(r.data.length).toBe(r.originalLength)
        expect(r.nanos).toBeGreaterThanOrEqual(0)
        expect(r.nanos).toBeLessThan(1e9)
        if (info?.precision === 'us') expect(r.nanos % 1000).toBe(0)
      })
      // offsets: pcap records follow each other exactly; pcapng blocks are at least 32 bytes apart
      for (let i = 1; i < recs.length; i++) {
        const prev = recs[i - 1]
        if (info?.format === 'pcap') expect(recs[i].offset).toBe(prev.offset + 16 + prev.data.length)
        else expect(recs[i].offset).toBeGreaterThanOrEqual(prev.offset + 32 + prev.data.length)
      }
      if (info?.format === 'pcap') expect(recs[0]?.offset ?? 24).toBe(24)

      const tsv = readFileSync(fixture(`${name}.sip.tsv`), 'utf8')
        .trim()
        .split('\n')
      const cols = tsv[0].split('\t')
      const num = cols.indexOf('frame.number')
      const time = cols.indexOf('frame.time_epoch')
      const iface = cols.indexOf('frame.interface_id')
      expect(tsv.length).toBeGreaterThan(1)
      for (const line of tsv.slice(1)) {
        const f = line.split('\t')
        const r = recs[Number(f[num]) - 1]
        expect(ns(r), `${name} frame ${f[num]}`).toBe(epochNs(f[time]))
        if (iface >= 0 && f[iface] !== '') expect(r.interfaceId).toBe(Number(f[iface]))
      }
    })
  }

  it('the µs, ns, big-endian and pcapng variants of sip-udp hold identical packets', async () => {
    const variants = [
      'sip-udp.pcap',
      'sip-udp-editcap-nsec.pcap',
      'sip-udp-bigendian.pcap',
      'sip-udp.pcapng',
      'sip-udp-usec.pcapng',
    ]
    const results = await Promise.all(variants.map((v) => collect(fixture(v))))
    const [ref] = results
    expect(ref.recs.length).toBe(18)
    expect(results.map((r) => r.info?.byteOrder)).toEqual(['le', 'le', 'be', 'le', 'le'])
    expect(results.map((r) => r.info?.precision)).toEqual(['us', 'ns', 'us', 'ns', 'us'])
    for (const [i, r] of results.entries()) {
      expect(r.error, variants[i]).toBeUndefined()
      expect(r.recs.length, variants[i]).toBe(18)
      r.recs.forEach((rec, j) => {
        expect(rec.data.equals(ref.recs[j].data), `${variants[i]} record ${j + 1}`).toBe(true)
        expect(rec.originalLength).toBe(ref.recs[j].originalLength)
        // same capture: µs timestamps are the ns ones truncated
        expect(rec.seconds).toBe(ref.recs[j].seconds)
        expect(Math.floor(rec.nanos / 1000) * 1000).toBe(ref.recs[j].nanos)
      })
    }
    // the ns files carry sub-µs digits
    expect(results[1].recs.some((r) => r.nanos % 1000 !== 0)).toBe(true)
    expect(results[1].recs.map(ns)).toEqual(results[3].recs.map(ns))
  })

  it('the 2-interface pcapng: interfaces 0 (Ethernet) and 1 (Linux SLL)', async () => {
    const { recs, info } = await collect(fixture('sip-udp-2ifaces.pcapng'))
    expect(info?.linkTypes).toEqual([LINKTYPE.ETHERNET, LINKTYPE.LINUX_SLL])
    expect(recs.map((r) => r.interfaceId)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    expect(recs.map((r) => r.linkType)).toEqual([1, 1, 1, 1, 1, 1, 113, 113, 113, 113, 113, 113])
  })

  it('bytesRead reaches the file size', async () => {
    const { bytesRead } = await collect(fixture('sip-rtp.pcap'))
    expect(bytesRead).toBe(bytes('sip-rtp.pcap').length)
  })

  it('the per-record iterator yields the same records as the batches', async () => {
    const { recs } = await collect(fixture('sip-rtp.pcap'))
    const one: CaptureRecord[] = []
    for await (const r of new CaptureReader(fixture('sip-rtp.pcap'))) one.push(r)
    expect(one.length).toBe(242)
    expect(one.map((r) => [r.offset, ns(r), r.data.toString('hex')])).toEqual(
      recs.map((r) => [r.offset, ns(r), r.data.toString('hex')]),
    )
  })
})

describe('edge captures', () => {
  it('edge-header-only.pcap: no records, no error', async () => {
    const { recs, error, info } = await collect(fixture('edge-header-only.pcap'))
    expect(error).toBeUndefined()
    expect(recs).toEqual([])
    expect(info).toEqual({
      format: 'pcap',
      byteOrder: 'le',
      precision: 'us',
      compressed: false,
      linkTypes: [1],
    })
  })

  it('edge-sip-udp-truncated-file.pcap: 17 records, then CAPTURE_TRUNCATED naming record 18', async () => {
    const file = bytes('edge-sip-udp-truncated-file.pcap')
    const { recs, error } = await collect(fixture('edge-sip-udp-truncated-file.pcap'))
    expect(recs.length).toBe(17)
    const e = captureError(error)
    expect(e.code).toBe('CAPTURE_TRUNCATED')
    expect(e.record).toBe(18)
    const last = recs[16]
    expect(e.offset).toBe(last.offset + 16 + last.data.length)
    expect(e.offset).toBe(7624)
    expect(e.offset).toBeLessThan(file.length)
    expect(e.message).toMatch(/^record 18 at byte 7624: /)
    // the same with every read size: the error comes after the 17 records
    for (const size of [1, 5, 16, 100, 4096]) {
      const r = await collect(chunked(file, size))
      expect(r.recs.length).toBe(17)
      expect(captureError(r.error).offset).toBe(7624)
    }
  })

  it('edge-sip-udp-snaplen128.pcap: 18 records, all truncated to 128 bytes', async () => {
    const { recs, error } = await collect(fixture('edge-sip-udp-snaplen128.pcap'))
    const full = await collect(fixture('sip-udp.pcap'))
    expect(error).toBeUndefined()
    expect(recs.length).toBe(18)
    recs.forEach((r, i) => {
      expect(r.truncated).toBe(true)
      expect(r.data.length).toBe(128)
      expect(r.originalLength).toBe(full.recs[i].originalLength)
      expect(r.data.equals(full.recs[i].data.subarray(0, 128))).toBe(true)
      expect(ns(r)).toBe(ns(full.recs[i]))
    })
  })

  it('a pcap header cut short is CAPTURE_TRUNCATED; an empty input CAPTURE_FORMAT', async () => {
    const h = bytes('sip-udp.pcap').subarray(0, 10)
    const e1 = captureError((await collect(chunked(h, 3))).error)
    expect(e1.code).toBe('CAPTURE_TRUNCATED')
    expect([e1.record, e1.offset]).toEqual([1, 0])
    const e2 = captureError((await collect(chunked(Buffer.alloc(0), 1))).error)
    expect(e2.code).toBe('CAPTURE_FORMAT')
    expect(e2.message).toMatch(/empty/)
  })

  it('not a capture: CAPTURE_FORMAT says what the first bytes look like', async () => {
    const html = Buffer.from('<!DOCTYPE html><html><body>hello</body></html>\n')
    const e = captureError((await collect(chunked(html, 1000))).error)
    expect(e.code).toBe('CAPTURE_FORMAT')
    expect(e.message).toContain('3c 21 44 4f')
    expect(e.message).toContain('<!DOCTYPE')
    expect(e.message).toMatch(/text/)
    const hep = Buffer.concat([Buffer.from('HEP3'), Buffer.alloc(20)])
    expect(captureError((await collect(chunked(hep, 7))).error).message).toMatch(/HEP3/)
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])
    expect(captureError((await collect(chunked(zstd, 100))).error).message).toMatch(/zstd/)
    const tiny = Buffer.from([1, 2])
    expect(captureError((await collect(chunked(tiny, 100))).error).code).toBe('CAPTURE_FORMAT')
  })

  it('not a capture, its magic split across chunks: the message shows only bytes of the input', async () => {
    // the magic is assembled in a buffer of 32 bytes of which 4 are the input's: only those are named
    const text = Buffer.from('ZZZZ is not a capture, it is a line of text\n')
    for (const size of [1, 2, 3]) {
      const e = captureError((await collect(chunked(text, size))).error)
      expect(e.code).toBe('CAPTURE_FORMAT')
      expect(e.message).toContain('first bytes 5a 5a 5a 5a "ZZZZ"')
    }
    // in one chunk, the first 16
    expect(captureError((await collect(chunked(text, 1000))).error).message).toContain(
      'first bytes 5a 5a 5a 5a 20 69 73 20 6e 6f 74 20 61 20 63 61 "ZZZZ is not a ca"',
    )
  })

  it('an unsupported pcap version is CAPTURE_FORMAT', async () => {
    const b = Buffer.from(bytes('sip-udp.pcap'))
    b.writeUInt16LE(3, 4)
    const e = captureError((await collect(chunked(b, 1 << 16))).error)
    expect(e.code).toBe('CAPTURE_FORMAT')
    expect(e.message).toMatch(/version 3\.4/)
  })

  it('the modified (Kuznetzov) pcap magic: 24-byte record headers', async () => {
    const src = (await collect(fixture('sip-udp.pcap'))).recs
    const parts: Buffer[] = [Buffer.from(bytes('sip-udp.pcap').subarray(0, 24))]
    parts[0].writeUInt32LE(0xa1b2cd34, 0)
    for (const r of src.slice(0, 3)) {
      const h = Buffer.alloc(24)
      h.writeUInt32LE(r.seconds, 0)
      h.writeUInt32LE(r.nanos / 1000, 4)
      h.writeUInt32LE(r.data.length, 8)
      h.writeUInt32LE(r.originalLength, 12)
      h.writeUInt32LE(7, 16) // ifindex
      parts.push(h, r.data)
    }
    const { recs, error, info } = await collect(chunked(Buffer.concat(parts), 50))
    expect(error).toBeUndefined()
    expect(info?.precision).toBe('us')
    expect(recs.length).toBe(3)
    recs.forEach((r, i) => {
      expect(r.data.equals(src[i].data)).toBe(true)
      expect(ns(r)).toBe(ns(src[i]))
    })
  })
})

describe('gzip input', () => {
  it('reads a gzipped pcap from a stream (detected by magic, not by name)', async () => {
    const plain = await collect(fixture('sip-rtp.pcap'))
    const gz = gzipSync(bytes('sip-rtp.pcap'))
    for (const size of [gz.length, 1, 1000]) {
      const r = await collect(chunked(gz, size))
      expect(r.error).toBeUndefined()
      expect(r.info?.compressed).toBe(true)
      expect(r.info?.format).toBe('pcap')
      expect(r.recs.length).toBe(242)
      expect(r.bytesRead).toBe(bytes('sip-rtp.pcap').length)
      r.recs.forEach((rec, i) => {
        expect(rec.offset).toBe(plain.recs[i].offset)
        expect(ns(rec)).toBe(ns(plain.recs[i]))
        expect(rec.data.equals(plain.recs[i].data)).toBe(true)
      })
    }
  })

  it('reads a gzipped pcapng', async () => {
    const plain = await collect(fixture('sip-udp-2ifaces.pcapng'))
    const r = await collect(chunked(gzipSync(bytes('sip-udp-2ifaces.pcapng')), 333), 4096)
    expect(r.error).toBeUndefined()
    expect(r.info?.format).toBe('pcapng')
    expect(r.info?.compressed).toBe(true)
    expect(r.recs.map((x) => [x.interfaceId, ns(x), x.data.toString('hex')])).toEqual(
      plain.recs.map((x) => [x.interfaceId, ns(x), x.data.toString('hex')]),
    )
  })

  it('a cut-off gzip stream: the complete records, then CAPTURE_TRUNCATED', async () => {
    const gz = gzipSync(bytes('sip-rtp.pcap'))
    const r = await collect(chunked(gz.subarray(0, Math.floor(gz.length / 2)), 512))
    expect(r.recs.length).toBeGreaterThan(0)
    expect(r.recs.length).toBeLessThan(242)
    const e = captureError(r.error)
    expect(e.code).toBe('CAPTURE_TRUNCATED')
    expect(e.record).toBe(r.recs.length + 1)
    const last = r.recs[r.recs.length - 1]
    expect(e.offset).toBe(last.offset + 16 + last.data.length)
  })

  it('corrupt gzip data is a CaptureError', async () => {
    const gz = Buffer.from(gzipSync(bytes('sip-rtp.pcap')))
    for (let i = 100; i < 140; i++) gz[i] ^= 0x5a
    const r = await collect(chunked(gz, 4096))
    expect(captureError(r.error).code).toMatch(/^CAPTURE_/)
  })
})

describe('read boundaries and buffers', () => {
  const key = (r: CaptureRecord) => [
    r.index,
    r.offset,
    r.linkType,
    r.interfaceId,
    r.seconds,
    r.nanos,
    r.originalLength,
    r.truncated,
    r.data.toString('hex'),
  ]

  it('sip-rtp.pcap gives identical records with any read size', async () => {
    const ref = (await collect(fixture('sip-rtp.pcap'))).recs.map(key)
    expect(ref.length).toBe(242)
    for (const size of [7, 100, 1000, 1500, 65536]) {
      const r = await collect(fixture('sip-rtp.pcap'), size)
      expect(r.error).toBeUndefined()
      expect(r.recs.map(key), `readSize ${size}`).toEqual(ref)
    }
    const file = bytes('sip-rtp.pcap')
    for (const size of [1, 2, 3, 16, 17, 23, 24, 25]) {
      const r = await collect(chunked(file, size))
      expect(r.recs.map(key), `chunks of ${size}`).toEqual(ref)
    }
  })

  it('pcapng gives identical records with any chunking', async () => {
    for (const name of ['sip-udp-2ifaces.pcapng', 'sip-udp.pcapng']) {
      const file = bytes(name)
      const ref = (await collect(fixture(name))).recs.map(key)
      for (const size of [1, 3, 4, 11, 12, 13, 28, 29, 97, 1000]) {
        const r = await collect(chunked(file, size))
        expect(r.error).toBeUndefined()
        expect(r.recs.map(key), `${name} in chunks of ${size}`).toEqual(ref)
      }
      let seed = 7
      const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 700
      const r = await collect(chunked(file, rnd))
      expect(r.recs.map(key)).toEqual(ref)
    }
  })

  it('record data is a view into the read chunk unless the record straddles chunks', async () => {
    const file = bytes('sip-rtp.pcap')
    const chunks: Buffer[] = []
    const stream = Readable.from(
      (function* () {
        for (let p = 0; p < file.length; p += 4000) {
          // a fresh buffer per chunk, as a file stream hands out
          const part = file.subarray(p, p + 4000)
          const c = Buffer.allocUnsafeSlow(part.length)
          part.copy(c)
          chunks.push(c)
          yield c
        }
      })(),
    )
    const { recs } = await collect(stream)
    expect(recs.length).toBe(242)
    let views = 0
    let copies = 0
    for (const r of recs) {
      const start = Math.floor(r.offset / 4000)
      const end = Math.floor((r.offset + 16 + r.data.length - 1) / 4000)
      if (start === end) {
        expect(r.data.buffer).toBe(chunks[start].buffer)
        expect(r.data.byteOffset).toBe(chunks[start].byteOffset + (r.offset % 4000) + 16)
        views++
      } else {
        for (const c of chunks) expect(r.data.buffer).not.toBe(c.buffer)
        copies++
      }
    }
    expect(views).toBeGreaterThan(200)
    expect(copies).toBeGreaterThan(5)
    // nothing handed out was overwritten afterwards
    const ref = await collect(fixture('sip-rtp.pcap'))
    recs.forEach((r, i) => expect(r.data.equals(ref.recs[i].data)).toBe(true))
  })

  it('batches hold one read chunk each', async () => {
    const sizes: number[] = []
    for await (const b of new CaptureReader(fixture('sip-rtp.pcap'), { readSize: 16384 }).batches())
      sizes.push(b.length)
    expect(sizes.length).toBeGreaterThanOrEqual(4)
    expect(sizes.length).toBeLessThanOrEqual(6)
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(242)
  })

  it('reads a path that is not a regular file (a FIFO) sequentially', async () => {
    if (process.platform === 'win32') return
    const dir = mkdtempSync(join(tmpdir(), 'hep-fifo-'))
    try {
      const fifo = join(dir, 'capture')
      execFileSync('mkfifo', [fifo])
      const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fixture('sip-rtp.pcap'), fifo], {
        stdio: 'ignore',
      })
      const closed = new Promise((ok) => writer.on('close', ok))
      const r = await collect(fifo, 1000)
      await closed
      expect(r.error).toBeUndefined()
      expect(r.recs.length).toBe(242)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('accepts streams of plain Uint8Arrays', async () => {
    const file = bytes('sip-udp.pcapng')
    const parts: Uint8Array[] = []
    for (let p = 0; p < file.length; p += 500) parts.push(new Uint8Array(file.subarray(p, p + 500)))
    const r = await collect(Readable.from(parts))
    expect(r.error).toBeUndefined()
    expect(r.recs.length).toBe(18)
    expect(Buffer.isBuffer(r.recs[0].data)).toBe(true)
  })

  it('a missing file is the file system error, not a CaptureError', async () => {
    const r = await collect(fixture('no-such-capture.pcap'))
    expect(r.error).not.toBeInstanceOf(CaptureError)
    expect((r.error as NodeJS.ErrnoException).code).toBe('ENOENT')
  })

  it('breaking out of a file early and reading it again', async () => {
    for (let i = 0; i < 20; i++) {
      for await (const r of new CaptureReader(fixture('sip-rtp.pcap'), { readSize: 1000 }))
        if (r.index === 3) break
    }
    for (const size of [1000, 1 << 20]) {
      const gz = join(tmpdir(), `hep-reader-${process.pid}.pcap.gz`)
      writeFileSync(gz, gzipSync(bytes('sip-rtp.pcap')))
      try {
        let n = 0
        for await (const r of new CaptureReader(gz, { readSize: size })) if ((n = r.index) === 3) break
        expect(n).toBe(3)
        expect((await collect(gz, size)).recs.length).toBe(242)
      } finally {
        rmSync(gz, { force: true })
      }
    }
  })

  it('breaking out early destroys the source stream', async () => {
    for (const buf of [bytes('sip-rtp.pcap'), gzipSync(bytes('sip-rtp.pcap'))]) {
      const stream = chunked(buf, 1000)
      let n = 0
      for await (const r of new CaptureReader(stream)) {
        expect(r.index).toBe(++n)
        if (n === 3) break
      }
      await new Promise((r) => setTimeout(r, 20))
      expect(stream.destroyed).toBe(true)
    }
  })
})

// ---- crafted pcapng ----

function pad4(n: number): number {
  return (n + 3) & ~3
}

class Ng {
  constructor(readonly le: boolean) {}
  u16(v: number): Buffer {
    const b = Buffer.alloc(2)
    if (this.le) b.writeUInt16LE(v)
    else b.writeUInt16BE(v)
    return b
  }
  u32(v: number): Buffer {
    const b = Buffer.alloc(4)
    if (this.le) b.writeUInt32LE(v >>> 0)
    else b.writeUInt32BE(v >>> 0)
    return b
  }
  i64(v: bigint): Buffer {
    const b = Buffer.alloc(8)
    if (this.le) b.writeBigInt64LE(v)
    else b.writeBigInt64BE(v)
    return b
  }
  block(type: number, body: Buffer): Buffer {
    const total = 12 + pad4(body.length)
    return Buffer.concat([
      this.u32(type),
      this.u32(total),
      body,
      Buffer.alloc(pad4(body.length) - body.length),
      this.u32(total),
    ])
  }
  options(opts: [number, Buffer][]): Buffer {
    const parts: Buffer[] = []
    for (const [code, v] of opts)
      parts.push(this.u16(code), this.u16(v.length), v, Buffer.alloc(pad4(v.length) - v.length))
    if (opts.length) parts.push(Buffer.alloc(4))
    return Buffer.concat(parts)
  }
  shb(): Buffer {
    return this.block(
      0x0a0d0d0a,
      Buffer.concat([this.u32(0x1a2b3c4d), this.u16(1), this.u16(0), Buffer.alloc(8, 0xff)]),
    )
  }
  idb(linkType: number, snaplen: number, opts: [number, Buffer][] = []): Buffer {
    return this.block(
      1,
      Buffer.concat([this.u16(linkType), this.u16(0), this.u32(snaplen), this.options(opts)]),
    )
  }
  epb(ifId: number, ts: bigint, data: Buffer, orig = data.length, opts: [number, Buffer][] = []): Buffer {
    const body = Buffer.concat([
      this.u32(ifId),
      this.u32(Number(ts >> 32n)),
      this.u32(Number(ts & 0xffffffffn)),
      this.u32(data.length),
      this.u32(orig),
      data,
      Buffer.alloc(pad4(data.length) - data.length),
      this.options(opts),
    ])
    return this.block(6, body)
  }
  pb(ifId: number, ts: bigint, data: Buffer): Buffer {
    const body = Buffer.concat([
      this.u16(ifId),
      this.u16(0),
      this.u32(Number(ts >> 32n)),
      this.u32(Number(ts & 0xffffffffn)),
      this.u32(data.length),
      this.u32(data.length),
      data,
    ])
    return this.block(2, body)
  }
  spb(orig: number, data: Buffer): Buffer {
    return this.block(3, Buffer.concat([this.u32(orig), data]))
  }
}

describe('crafted pcapng', () => {
  const le = new Ng(true)
  const be = new Ng(false)
  const d = (s: string) => Buffer.from(s)
  const crafted = Buffer.concat([
    // section 1, little-endian
    le.shb(),
    le.idb(LINKTYPE.ETHERNET, 1000, [[9, Buffer.from([3])]]), // ms
    le.idb(LINKTYPE.RAW, 0, [
      [2, d('eth9')], // if_name, ignored
      [9, Buffer.from([0x80 | 20])], // 2^-20 s
      [14, le.i64(1000n)], // if_tsoffset
    ]),
    le.epb(0, 1_700_000_000_123n, d('first'), 10), // ms
    le.epb(1, 5n * 2n ** 20n + 2n ** 19n + 1n, d('second'), 6, [[1, d('a comment')]]),
    le.block(0x0bad, d('unknown block, skipped')),
    le.block(5, Buffer.alloc(20)), // an interface statistics block (read: no counters)
    le.spb(9, d('simple-packet')), // caplen = min(snaplen, room) = 13 bytes ("simple-pa" + padding... cut at 9)
    le.spb(2000, Buffer.alloc(1200, 0x61)), // longer than the snaplen 1000
    le.pb(1, 3n * 2n ** 20n, d('obsolete')),
    // section 2, big-endian: interface ids start again
    be.shb(),
    be.idb(LINKTYPE.LINUX_SLL, 65535, [[14, be.i64(-10n)]]), // µs by default
    be.epb(0, 1_795_437_523_156_028n, d('big-endian')),
    be.epb(1, 0n, d('no such interface')),
    be.epb(0, 0n, d('never reached')),
  ])

  it('two sections of different byte order, if_tsresol, if_tsoffset, SPB, PB, skipped blocks', async () => {
    for (const size of [crafted.length, 1, 5, 64]) {
      const { recs, error, info } = await collect(chunked(crafted, size))
      expect(info).toEqual({
        format: 'pcapng',
        byteOrder: 'le',
        precision: 'ms',
        compressed: false,
        linkTypes: [LINKTYPE.ETHERNET, LINKTYPE.RAW, LINKTYPE.LINUX_SLL],
        // the statistics block among the skipped ones is read now (it carries no counters)
        interfaceStats: [{ interfaceId: 0 }],
      })
      const rows = recs.map((r) => [
        r.index,
        r.interfaceId,
        r.linkType,
        r.seconds,
        r.nanos,
        r.originalLength,
        r.truncated,
        r.data.toString('latin1'),
      ])
      expect(rows).toEqual([
        [1, 0, 1, 1_700_000_000, 123_000_000, 10, true, 'first'],
        // 5.5 s + 1/2^20 s (953.67 ns, truncated) + the 1000 s offset
        [2, 1, 101, 1005, 500_000_953, 6, false, 'second'],
        [3, 0, 1, 0, 0, 9, false, 'simple-pa'],
        [4, 0, 1, 0, 0, 2000, true, 'a'.repeat(1000)],
        [5, 1, 101, 1003, 0, 8, false, 'obsolete'],
        [6, 0, 113, 1_795_437_523 - 10, 156_028_000, 10, false, 'big-endian'],
      ])
      const e = captureError(error)
      expect(e.code).toBe('CAPTURE_BLOCK')
      expect(e.record).toBe(7)
      expect(e.message).toMatch(/interface 1/)
      expect(e.offset).toBe(crafted.indexOf(be.epb(1, 0n, d('no such interface'))))
    }
  })

  it('timestamps at any resolution split exactly into seconds and nanoseconds', async () => {
    const cases: [number, bigint, number, number][] = [
      [9, 1_795_437_523_156_028_319n, 1_795_437_523, 156_028_319], // ns (past 2^53)
      [6, 1_795_437_523_156_028n, 1_795_437_523, 156_028_000],
      [0, 1_795_437_523n, 1_795_437_523, 0], // seconds
      [12, 1_795_437_523_156_028_319_123n % 2n ** 64n, -1, -1], // ps (10^-12): computed below
      [0x80 | 30, (1_795_437_523n << 30n) + (1n << 29n), 1_795_437_523, 500_000_000],
      [0x80 | 40, (1_000n << 40n) + 1n, 1000, 0], // 2^-40 s, 1 unit < 1 ns
    ]
    for (const [resol, ts, s, n] of cases) {
      const file = Buffer.concat([le.shb(), le.idb(1, 0, [[9, Buffer.from([resol])]]), le.epb(0, ts, d('x'))])
      const { recs, error } = await collect(chunked(file, 1000))
      expect(error).toBeUndefined()
      if (s >= 0) expect([recs[0].seconds, recs[0].nanos], `tsresol ${resol}`).toEqual([s, n])
      else {
        expect(BigInt(recs[0].seconds)).toBe(ts / 10n ** 12n)
        expect(BigInt(recs[0].nanos)).toBe((ts % 10n ** 12n) / 1000n)
      }
    }
  })

  it('malformed blocks', async () => {
    const base = Buffer.concat([le.shb(), le.idb(1, 0), le.epb(0, 1n, d('ok'))])
    const cases: [Buffer, string][] = [
      [Buffer.concat([base, le.epb(3, 1n, d('x'))]), 'CAPTURE_BLOCK'], // unknown interface
      [Buffer.concat([le.shb(), le.epb(0, 1n, d('x'))]), 'CAPTURE_BLOCK'], // no interface at all
      [Buffer.concat([le.shb(), le.spb(1, d('x'))]), 'CAPTURE_BLOCK'], // SPB without an interface
      [Buffer.concat([base, le.u32(6), le.u32(0xfffffff0), Buffer.alloc(100)]), 'CAPTURE_RECORD_LENGTH'],
      [Buffer.concat([base, le.u32(0x0bad), le.u32(8), Buffer.alloc(100)]), 'CAPTURE_RECORD_LENGTH'], // < 12
      [Buffer.concat([base, le.u32(0x0bad), le.u32(14), Buffer.alloc(100)]), 'CAPTURE_RECORD_LENGTH'], // not * 4
      [Buffer.concat([base, le.u32(0x0bad), le.u32(0x40000000), Buffer.alloc(100)]), 'CAPTURE_RECORD_LENGTH'],
      [Buffer.concat([base, le.u32(6), le.u32(32), Buffer.alloc(20), le.u32(36)]), 'CAPTURE_BLOCK'], // trailer
      [Buffer.concat([base, le.epb(0, 1n, d('x')).subarray(0, 20)]), 'CAPTURE_TRUNCATED'],
    ]
    // an EPB whose captured length overruns its block
    const over = Buffer.from(le.epb(0, 1n, d('abcd')))
    over.writeUInt32LE(100, 20)
    cases.push([Buffer.concat([base, over]), 'CAPTURE_BLOCK'])
    // a second section with a bad byte-order magic
    const badShb = Buffer.from(le.shb())
    badShb.writeUInt32LE(0x12345678, 8)
    cases.push([Buffer.concat([base, badShb]), 'CAPTURE_BLOCK'])
    for (const [i, [file, code]] of cases.entries()) {
      const { recs, error } = await collect(chunked(file, 1 + (i % 3) * 17))
      const e = captureError(error)
      expect(e.code, `case ${i}: ${e.message}`).toBe(code)
      const before = i === 1 || i === 2 ? 0 : 1
      expect(recs.length, `case ${i}`).toBe(before)
      expect(e.record).toBe(before + 1)
      expect(e.offset, `case ${i}`).toBe(i === 1 || i === 2 ? le.shb().length : base.length)
    }
    // a first section with a bad byte-order magic is not a pcapng at all
    const e = captureError((await collect(chunked(badShb, 100))).error)
    expect(e.code).toBe('CAPTURE_FORMAT')
  })
})

describe('hostile lengths and fuzzing', () => {
  it('a record length of 0xFFFFFFF0 fails fast with CAPTURE_RECORD_LENGTH after the records before it', async () => {
    const file = Buffer.from(bytes('sip-udp.pcap'))
    const recs = (await collect(fixture('sip-udp.pcap'))).recs
    const at = recs[4].offset
    file.writeUInt32LE(0xfffffff0, at + 8)
    for (const source of [() => chunked(file, 1 << 18), () => chunked(file, 1)]) {
      const t = performance.now()
      const r = await collect(source())
      expect(performance.now() - t).toBeLessThan(1000)
      expect(r.recs.length).toBe(4)
      const e = captureError(r.error)
      expect(e.code).toBe('CAPTURE_RECORD_LENGTH')
      expect([e.record, e.offset]).toEqual([5, at])
      expect(e.message).toMatch(/4294967280/)
    }
    // big-endian, and just past the 256 KiB bound
    const bigEndian = Buffer.from(bytes('sip-udp-bigendian.pcap'))
    bigEndian.writeUInt32BE(262145, 24 + 8)
    const e = captureError((await collect(chunked(bigEndian, 4096))).error)
    expect([e.code, e.record, e.offset]).toEqual(['CAPTURE_RECORD_LENGTH', 1, 24])
  })

  it('300 random mutations of the fixtures raise nothing but CaptureError and never hang', async () => {
    let seed = 0x5eed
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return (seed >>> 8) % n
    }
    const sources = [
      'sip-udp.pcap',
      'sip-udp-bigendian.pcap',
      'sip-udp-2ifaces.pcapng',
      'sip-udp.pcapng',
      'sip-udp-editcap-nsec.pcap',
    ].map(bytes)
    const started = performance.now()
    let failures = 0
    const codes = new Set<string>()
    for (let i = 0; i < 300; i++) {
      let b = Buffer.from(sources[i % sources.length])
      const kind = rnd(4)
      if (kind === 0) {
        for (let k = 1 + rnd(8); k > 0; k--) b[rnd(b.length)] ^= 1 << rnd(8)
      } else if (kind === 1) {
        b = b.subarray(0, rnd(b.length))
      } else if (kind === 2) {
        // overwrite 4 aligned bytes (a length field, often) with something large or small
        const values = [0, 1, 11, 12, 13, 0xffff, 0x10000, 0x7fffffff, 0xfffffff0, 0xffffffff, rnd(2 ** 31)]
        b.writeUInt32LE(values[rnd(values.length)] >>> 0, rnd(b.length >> 2) * 4)
      } else {
        for (let k = 1 + rnd(40); k > 0; k--) b[rnd(b.length)] = rnd(256)
      }
      const gz = rnd(10) === 0
      const input = gz ? gzipSync(b) : b
      const t = performance.now()
      const r = await collect(chunked(input, 1 + rnd(3000)))
      expect(performance.now() - t, `mutation ${i}`).toBeLessThan(2000)
      if (r.error !== undefined) {
        const e = captureError(r.error)
        codes.add(e.code)
        expect(e.record).toBe(r.recs.length + 1)
        failures++
      }
      if (!gz) {
        // chunking never changes the outcome: same records, same error at the same place
        const whole = await collect(chunked(b, b.length + 1))
        const sig = (x: Result) => [
          x.recs.map((rec) => [rec.offset, ns(rec), rec.data.length]),
          x.error instanceof CaptureError ? [x.error.code, x.error.record, x.error.offset] : x.error,
        ]
        expect(sig(r), `mutation ${i}`).toEqual(sig(whole))
      }
      for (const rec of r.recs) {
        expect(rec.nanos).toBeGreaterThanOrEqual(0)
        expect(rec.nanos).toBeLessThan(1e9)
        expect(rec.data.length).toBeLessThanOrEqual(262144)
      }
    }
    expect(failures).toBeGreaterThan(50)
    expect(codes.size).toBeGreaterThanOrEqual(3)
    expect(performance.now() - started).toBeLessThan(10_000)
  })
})

describe('isCaptureMagic', () => {
  it('tells pcap, pcapng and gzip apart', () => {
    expect(isCaptureMagic(bytes('sip-udp.pcap'))).toBe('pcap')
    expect(isCaptureMagic(bytes('sip-udp-bigendian.pcap'))).toBe('pcap')
    expect(isCaptureMagic(bytes('sip-udp-nsec.pcap'))).toBe('pcap')
    expect(isCaptureMagic(bytes('sip-udp.pcapng'))).toBe('pcapng')
    expect(isCaptureMagic(gzipSync(bytes('sip-udp.pcap')))).toBe('gzip')
    expect(isCaptureMagic(Buffer.from([0x34, 0xcd, 0xb2, 0xa1]))).toBe('pcap')
    expect(isCaptureMagic(Buffer.from('HEP3...'))).toBeUndefined()
    expect(isCaptureMagic(Buffer.from([0xd4, 0xc3]))).toBeUndefined()
    expect(isCaptureMagic(Buffer.alloc(0))).toBeUndefined()
  })
})
