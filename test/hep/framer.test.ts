/**
 * The HEP3 stream framer against the real Kamailio HEP3-over-TCP connection (39 packets), cut every way,
 * and against bad streams. Packet boundaries are read from the stream with the spec's rule (total
 * length u16 at byte 4 of each packet), independently of the framer.
 */
import { describe, expect, it } from 'vitest'
import { DecodeError, decodeDatagram, frameLength, Hep3Framer, HEP3_MAX_LENGTH } from '../../src/index.js'
import { loadRecv, loadTcpSegments } from '../helpers/fixtures.js'
import { chunk, hep3 as hep3Hex } from './spec-bytes.js'

const segments = loadTcpSegments()
const stream = Buffer.concat(segments)

/** [start, end) of each packet, by the spec's length rule */
const bounds: [number, number][] = []
for (let pos = 0; pos < stream.length; pos += stream.readUInt16BE(pos + 4)) {
  expect(stream.toString('latin1', pos, pos + 4)).toBe('HEP3')
  bounds.push([pos, pos + stream.readUInt16BE(pos + 4)])
}
const expected = bounds.map(([s, e]) => stream.subarray(s, e))

function sameFrames(got: Buffer[]): boolean {
  return got.length === expected.length && got.every((g, i) => g.equals(expected[i]))
}

function pushAll(framer: Hep3Framer, parts: Buffer[], onError?: (e: DecodeError) => void): Buffer[] {
  const out: Buffer[] = []
  for (const p of parts) out.push(...framer.push(p, onError))
  return out
}

function thrown(run: () => unknown): DecodeError {
  try {
    run()
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError)
    return e as DecodeError
  }
  throw new Error('expected a DecodeError')
}

/** a HEP3 packet of exactly `size` bytes (one payload chunk) */
function packetOf(size: number, fill = 0x41): Buffer {
  return Buffer.from(hep3Hex(chunk(0, 0x0f, Buffer.alloc(size - 12, fill).toString('hex'))), 'hex')
}

describe('the Kamailio HEP3-over-TCP stream', () => {
  it('holds 39 packets, as the receiver says', () => {
    expect(bounds.length).toBe(39)
    expect(loadRecv('hep-v3-tcp').heprecv.length).toBe(39)
    expect(bounds[bounds.length - 1][1]).toBe(stream.length)
  })

  it('segment by segment (as captured) gives the 39 packets', () => {
    const f = new Hep3Framer()
    expect(sameFrames(pushAll(f, segments))).toBe(true)
    expect(f.buffered).toBe(0)
    expect(f.offset).toBe(stream.length)
  })

  it('all in one push gives the 39 packets', () => {
    const f = new Hep3Framer()
    expect(sameFrames(f.push(stream))).toBe(true)
    expect([f.buffered, f.needed, f.readsForCurrent, f.skipped]).toEqual([0, 0, 0, 0])
  })

  it('cut in two at every byte of the stream gives the same 39 packets', () => {
    let bad = -1
    for (let cut = 0; cut <= stream.length && bad < 0; cut++) {
      const f = new Hep3Framer()
      const got = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))]
      if (!sameFrames(got) || f.buffered !== 0) bad = cut
    }
    expect(bad, 'first failing cut').toBe(-1)
  })

  it('cut in three at many pairs of points (every byte of the first 3 packets against a spread of others)', () => {
    const firsts = Array.from({ length: bounds[2][1] + 1 }, (_, i) => i)
    let checked = 0
    for (const a of firsts) {
      for (const b of [a, a + 1, a + 5, a + 6, a + 7, bounds[3][0], bounds[10][0] + 3, stream.length - 1]) {
        if (b > stream.length) continue
        const f = new Hep3Framer()
        const got = pushAll(f, [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)])
        expect(sameFrames(got), `cuts at ${a}, ${b}`).toBe(true)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(1000)
  })

  it('one byte at a time: same packets; needed/buffered/readsForCurrent/offset right after every byte', () => {
    const f = new Hep3Framer()
    const got: Buffer[] = []
    let k = 0 // packet in progress
    for (let i = 0; i < stream.length; i++) {
      const out = f.push(stream.subarray(i, i + 1))
      got.push(...out)
      const [start, end] = bounds[k]
      if (i + 1 === end) {
        expect(out.length).toBe(1)
        expect([f.buffered, f.needed, f.readsForCurrent]).toEqual([0, 0, 0])
        expect(f.offset).toBe(end)
        k++
        continue
      }
      expect(out.length).toBe(0)
      const have = i + 1 - start
      expect(f.buffered).toBe(have)
      expect(f.needed).toBe(have < 6 ? 6 - have : end - start - have)
      expect(f.readsForCurrent).toBe(have)
      expect(f.offset).toBe(start)
    }
    expect(sameFrames(got)).toBe(true)
  })

  it('every framed packet decodes as one datagram', () => {
    for (const p of new Hep3Framer().push(stream)) expect(decodeDatagram(p).version).toBe(3)
  })
})

describe('counters', () => {
  it('a 600-byte packet pushed one byte at a time: readsForCurrent is the number of pushes so far', () => {
    const pkt = packetOf(600)
    expect(pkt.length).toBe(600)
    const f = new Hep3Framer()
    for (let i = 0; i < 599; i++) {
      expect(f.push(pkt.subarray(i, i + 1))).toEqual([])
      expect(f.readsForCurrent).toBe(i + 1)
      expect(f.buffered).toBe(i + 1)
      expect(f.needed).toBe(i + 1 < 6 ? 6 - (i + 1) : 600 - (i + 1))
    }
    const out = f.push(pkt.subarray(599))
    expect(out.length).toBe(1)
    expect(out[0].equals(pkt)).toBe(true)
    expect(f.readsForCurrent).toBe(0)
  })

  it('a push that ends one packet and starts the next counts as the first read of the next', () => {
    const a = packetOf(100)
    const b = packetOf(200, 0x42)
    const f = new Hep3Framer()
    expect(f.push(a.subarray(0, 50))).toEqual([])
    expect(f.push(a.subarray(50, 60))).toEqual([])
    expect(f.readsForCurrent).toBe(2)
    const out = f.push(Buffer.concat([a.subarray(60), b.subarray(0, 3)]))
    expect(out.length).toBe(1)
    expect(f.readsForCurrent).toBe(1)
    expect(f.buffered).toBe(3)
    expect(f.needed).toBe(3)
    expect(f.push(Buffer.alloc(0))).toEqual([])
    expect(f.readsForCurrent).toBe(1)
    expect(f.push(b.subarray(3, 150))).toEqual([])
    expect([f.readsForCurrent, f.buffered, f.needed]).toEqual([2, 150, 50])
    expect(f.push(b.subarray(150))[0].equals(b)).toBe(true)
    expect(f.offset).toBe(300)
  })

  it('many packets (and the start of one more) in one push', () => {
    const pk = Array.from({ length: 200 }, (_, i) => packetOf(12 + (i % 50)))
    const all = Buffer.concat([...pk, pk[0].subarray(0, 4)])
    const f = new Hep3Framer()
    const out = f.push(all)
    expect(out.length).toBe(200)
    out.forEach((o, i) => expect(o.equals(pk[i])).toBe(true))
    expect([f.buffered, f.needed]).toEqual([4, 2])
  })

  it('reset() drops the incomplete packet and moves the offset past it', () => {
    const f = new Hep3Framer()
    f.push(packetOf(100).subarray(0, 40))
    expect(f.buffered).toBe(40)
    f.reset()
    expect([f.buffered, f.needed, f.readsForCurrent, f.offset]).toEqual([0, 0, 0, 40])
    expect(f.push(packetOf(20)).length).toBe(1)
  })

  it('a packet of exactly maxLength passes; the largest HEP3 packet passes by default', () => {
    expect(new Hep3Framer({ maxLength: 100 }).push(packetOf(100)).length).toBe(1)
    expect(new Hep3Framer().push(packetOf(HEP3_MAX_LENGTH)).length).toBe(1)
  })
})

describe('bad streams', () => {
  it('bad magic is reported on the first wrong byte, not after 6 bytes', () => {
    expect(thrown(() => new Hep3Framer().push(Buffer.from('X'))).code).toBe('HEP_BAD_MAGIC')
    const f = new Hep3Framer()
    expect(f.push(Buffer.from('H'))).toEqual([])
    expect(f.push(Buffer.from('E'))).toEqual([])
    expect(f.needed).toBe(4)
    const e = thrown(() => f.push(Buffer.from('X')))
    expect([e.code, e.offset, e.field]).toEqual(['HEP_BAD_MAGIC', 0, 'magic'])
  })

  it('bad magic after good packets names the stream offset', () => {
    const f = new Hep3Framer()
    expect(f.push(expected[0]).length).toBe(1)
    const e = thrown(() => f.push(Buffer.from('X')))
    expect([e.code, e.offset]).toEqual(['HEP_BAD_MAGIC', expected[0].length])
    // the same, with the bad byte in the same push as the good packet
    const g = new Hep3Framer()
    const e2 = thrown(() => g.push(Buffer.concat([expected[0], expected[1], Buffer.from('X')])))
    expect([e2.code, e2.offset]).toEqual(['HEP_BAD_MAGIC', expected[0].length + expected[1].length])
  })

  it('a total length under 6 is HEP_BAD_LENGTH, also when the length arrives in a later push', () => {
    const e = thrown(() => new Hep3Framer().push(Buffer.from('HEP3\x00\x05', 'latin1')))
    expect([e.code, e.offset, e.field]).toEqual(['HEP_BAD_LENGTH', 4, 'total length'])
    const f = new Hep3Framer()
    expect(f.push(Buffer.from('HEP3\x00', 'latin1'))).toEqual([])
    expect(f.needed).toBe(1)
    expect(thrown(() => f.push(Buffer.from([0x02]))).code).toBe('HEP_BAD_LENGTH')
  })

  it('maxLength is enforced from the header alone', () => {
    const f = new Hep3Framer({ maxLength: 500 })
    const e = thrown(() => f.push(expected[0].subarray(0, 6)))
    expect(expected[0].length).toBeGreaterThan(500)
    expect([e.code, e.offset, e.field]).toEqual(['HEP_TOO_LONG', 4, 'total length'])
    expect(thrown(() => frameLength(expected[0], 0, 500)).code).toBe('HEP_TOO_LONG')
  })

  it('frameLength says how many bytes are missing before it can tell the length', () => {
    expect(frameLength(Buffer.alloc(0), 0)).toBe(-6)
    expect(frameLength(Buffer.from('HEP'), 0)).toBe(-3)
    expect(frameLength(Buffer.from('HEP3\x00', 'latin1'), 0)).toBe(-1)
    expect(frameLength(expected[0], 0)).toBe(expected[0].length)
    expect(frameLength(stream, bounds[5][0])).toBe(bounds[5][1] - bounds[5][0])
  })
})

describe('resynchronisation with onError', () => {
  const [p1, p2, p3] = expected

  it('garbage between packets is reported once, skipped, counted; the next packets still come out', () => {
    const garbage = Buffer.from('garbage! not HEP at all', 'latin1')
    const errors: DecodeError[] = []
    const f = new Hep3Framer()
    const out = f.push(Buffer.concat([p1, garbage, p2, p3]), (e) => errors.push(e))
    expect(out.map((b) => b.length)).toEqual([p1.length, p2.length, p3.length])
    expect(out[1].equals(p2) && out[2].equals(p3)).toBe(true)
    expect(errors.length).toBe(1)
    expect(errors[0].code).toBe('HEP_BAD_MAGIC')
    expect(errors[0].offset).toBe(p1.length)
    expect(f.skipped).toBe(garbage.length)
    expect(f.offset).toBe(p1.length + garbage.length + p2.length + p3.length)
  })

  it('the same, fed one byte at a time (garbage with partial magics in it)', () => {
    const garbage = Buffer.from('xxHEPxxHEHxH', 'latin1')
    const all = Buffer.concat([p1, garbage, p2, p3])
    const errors: DecodeError[] = []
    const f = new Hep3Framer()
    const out: Buffer[] = []
    for (let i = 0; i < all.length; i++) out.push(...f.push(all.subarray(i, i + 1), (e) => errors.push(e)))
    expect(out.length).toBe(3)
    expect(out[1].equals(p2) && out[2].equals(p3)).toBe(true)
    expect(errors.map((e) => [e.code, e.offset])).toEqual([['HEP_BAD_MAGIC', p1.length]])
    expect(f.skipped).toBe(garbage.length)
  })

  it('a fake header with a bad length is one error; the real packet after it is found', () => {
    const fake = Buffer.from('HEP3\x00\x03', 'latin1')
    const errors: DecodeError[] = []
    const f = new Hep3Framer()
    const out = pushAll(f, [Buffer.concat([p1, fake]), Buffer.concat([p2, p3])], (e) => errors.push(e))
    expect(out.length).toBe(3)
    expect(errors.map((e) => [e.code, e.offset])).toEqual([['HEP_BAD_LENGTH', p1.length + 4]])
    expect(f.skipped).toBe(fake.length)
  })

  it('two garbage regions are two errors', () => {
    const errors: DecodeError[] = []
    const f = new Hep3Framer()
    const out = pushAll(f, [p1, Buffer.from('??'), p2, Buffer.from('!!!'), p3], (e) => errors.push(e))
    expect(out.length).toBe(3)
    expect(errors.map((e) => e.offset)).toEqual([p1.length, p1.length + 2 + p2.length])
    expect(f.skipped).toBe(5)
  })

  it('without onError the framer throws and stays in error (a socket should close)', () => {
    const f = new Hep3Framer()
    expect(thrown(() => f.push(Buffer.concat([Buffer.from('??'), p1]))).code).toBe('HEP_BAD_MAGIC')
    expect(thrown(() => f.push(p2)).code).toBe('HEP_BAD_MAGIC')
  })
})

describe('Hep3Framer: what it keeps is its own', () => {
  it('the start of a packet left at the end of a chunk survives the chunk being overwritten', () => {
    const f = new Hep3Framer()
    const read = Buffer.alloc(stream.length)
    const got: Buffer[] = []
    // one reused read buffer, as a capture reader or socket may have: cut every 100 bytes
    for (let pos = 0; pos < stream.length; pos += 100) {
      const n = Math.min(100, stream.length - pos)
      stream.copy(read, 0, pos, pos + n)
      for (const p of f.push(read.subarray(0, n))) got.push(Buffer.from(p))
      read.fill(0x58)
    }
    expect(sameFrames(got)).toBe(true)
    expect(f.buffered).toBe(0)
  })
})
