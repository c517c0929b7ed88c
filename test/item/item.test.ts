// The item spine: origins are data, formatted for messages as the readers always wrote them.
import { Readable } from 'node:stream'
import { sipPacket } from '../net/helpers.js'
import { describe, expect, it } from 'vitest'
import { DecodeError, HepError } from '../../src/errors.js'
import { encode } from '../../src/hep/codec.js'
import type { HepPacket } from '../../src/hep/packet.js'
import { rawBatches } from '../../src/input/hep-source.js'
import { asHepError, formatOrigin, makeItem, type HepItem } from '../../src/item/item.js'
import { rng } from '../helpers/rng.js'

const packet = (payload: string): HepPacket =>
  sipPacket(payload, { timeSeconds: 1, timeUseconds: 2, captureId: 1 })

describe('formatOrigin', () => {
  it('names every kind of origin as the messages always did', () => {
    expect(formatOrigin({ source: 'capture.hex', line: 4 })).toBe('capture.hex line 4')
    expect(formatOrigin({ source: 'stdin', byte: 1200 })).toBe('stdin byte 1200')
    expect(formatOrigin({ source: 'x.pcap', frame: 7 })).toBe('x.pcap frame 7')
    expect(formatOrigin({ source: 'x.pcap' })).toBe('x.pcap')
    expect(formatOrigin({ source: 'flags' })).toBe('flags')
    // 0 is a position, not a missing one
    expect(formatOrigin({ source: 'dump.hep', byte: 0 })).toBe('dump.hep byte 0')
  })

  it("an item's where is its origin formatted, and follows the origin", () => {
    const it = makeItem(3, { source: 'a.jsonl', line: 9 }, { packet: packet('x') })
    expect([it.index, it.where, it.packet?.payload?.toString()]).toEqual([3, 'a.jsonl line 9', 'x'])
    it.origin = { source: 'a.jsonl', line: 10 }
    expect(it.where).toBe('a.jsonl line 10')
    // every item has every field, set or undefined
    const bare = makeItem(1, { source: 'b' }, {})
    expect(Object.keys(bare).sort()).toEqual(['capture', 'error', 'index', 'origin', 'packet', 'raw', 'sip'])
  })
})

describe('asHepError', () => {
  it('keeps HepErrors, shifts a DecodeError by the offset given, names anything else INPUT_FORMAT', () => {
    const h = new HepError('HEP_JSON', 'bad')
    expect(asHepError(h)).toBe(h)
    const d = asHepError(new DecodeError('HEP_TRUNCATED', 6, 'length', 'short'), 100)
    expect(d).toBeInstanceOf(DecodeError)
    expect([(d as DecodeError).offset, d.code]).toEqual([106, 'HEP_TRUNCATED'])
    const o = asHepError(new Error('boom'))
    expect([o.code, o.message]).toEqual(['INPUT_FORMAT', 'boom'])
  })
})

describe('raw stream origins', () => {
  it('errors and packets come in stream order, each at the byte it starts at', async () => {
    const a = encode(packet('first'))
    const b = encode(packet('second'))
    const garbage = Buffer.from('not hep at all')
    const input = Buffer.concat([a, garbage, b])
    const items: HepItem[] = []
    for await (const batch of rawBatches(Readable.from([input]), 'dump.hep')) items.push(...batch)
    expect(items.map((i) => [i.index, i.where, i.packet ? 'packet' : i.error?.code])).toEqual([
      [1, 'dump.hep byte 0', 'packet'],
      [2, `dump.hep byte ${a.length}`, items[1].error?.code],
      [3, `dump.hep byte ${a.length + garbage.length}`, 'packet'],
    ])
    expect(items[1].error).toBeInstanceOf(HepError)
    expect(items.map((i) => i.origin)).toEqual([
      { source: 'dump.hep', byte: 0 },
      { source: 'dump.hep', byte: a.length },
      { source: 'dump.hep', byte: a.length + garbage.length },
    ])
    expect(items[2].packet?.payload?.toString()).toBe('second')
  })

  it('every packet at its true offset, whatever the bad data between packets and however the input is read', async () => {
    const rand = rng(11)
    for (let round = 0; round < 200; round++) {
      const parts: Buffer[] = []
      const starts: number[] = []
      let size = 0
      for (let n = 1 + Math.floor(rand() * 6); n > 0; n--) {
        if (rand() < 0.5) {
          // bad data: junk, a bad length, or a lone magic
          const junk = [
            Buffer.from('junk'.repeat(1 + Math.floor(rand() * 3))),
            Buffer.from('HEP3\x00\x02', 'latin1'),
            Buffer.from('HE'),
          ]
          const j = junk[Math.floor(rand() * junk.length)]
          parts.push(j)
          size += j.length
        }
        const p = encode(packet(`m${round}-${n}`))
        starts.push(size)
        parts.push(p)
        size += p.length
      }
      const input = Buffer.concat(parts)
      const reads: Buffer[] = []
      for (let a = 0; a < input.length;) {
        const b = Math.min(input.length, a + 1 + Math.floor(rand() * 40))
        reads.push(input.subarray(a, b))
        a = b
      }
      const items: HepItem[] = []
      for await (const batch of rawBatches(Readable.from(reads), 'r')) items.push(...batch)
      const got = items.filter((i) => i.packet).map((i) => ('byte' in i.origin ? i.origin.byte : -1))
      expect(got).toEqual(starts)
      for (const i of items)
        if (i.raw && 'byte' in i.origin) expect(input.indexOf(i.raw, i.origin.byte)).toBe(i.origin.byte)
      const bytes = items.map((i) => ('byte' in i.origin ? i.origin.byte : -1))
      expect(bytes).toEqual([...bytes].sort((x, y) => x - y))
      expect(items.map((i) => i.index)).toEqual(items.map((_, n) => n + 1))
    }
  })
})
