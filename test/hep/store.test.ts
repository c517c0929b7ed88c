/**
 * The decoder's store by chunk id (src/hep/store.ts, a switch kept for speed: bench/codec.js "decode")
 * against the chunk table's typed `set` of each row: same field, same value, nothing else; every row
 * has its case and an id without a row has none.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CHUNK_BY_ID, CHUNK_DEFS, KIND_CODE, type ChunkDef, type KindValue } from '../../src/hep/chunks.js'
import type { HepPacket } from '../../src/hep/packet.js'
import { storeField } from '../../src/hep/store.js'

const valueOf = (d: ChunkDef): fc.Arbitrary<KindValue[keyof KindValue]> => {
  switch (d.kind) {
    case 'u8':
      return fc.integer({ min: 0, max: 0xff })
    case 'u16':
      return fc.integer({ min: 0, max: 0xffff })
    case 'u32':
      return fc.integer({ min: 0, max: 0xffffffff })
    case 'bytes':
      return fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a))
    default:
      return fc.string()
  }
}

describe('storeField', () => {
  it('does for every row what the row’s own set does, on an empty packet and on a full one', () => {
    for (const d of CHUNK_DEFS) {
      fc.assert(
        fc.property(valueOf(d), fc.boolean(), (x, full) => {
          const base = (): HepPacket =>
            full ? { version: 3, srcPort: 1, payload: Buffer.from('x'), nodeName: 'n' } : { version: 3 }
          const viaSet = base()
          const viaStore = base()
          d.set(viaSet, x)
          expect(storeField(viaStore, d.id, x)).toBe(true)
          expect(viaStore).toStrictEqual(viaSet)
          expect(Object.keys(viaStore)).toEqual(Object.keys(viaSet))
          expect(viaStore[d.field]).toBe(x)
        }),
        { numRuns: 20 },
      )
    }
  })

  it('has no case for an id without a row, and leaves the packet alone', () => {
    for (let id = 0; id <= 0xffff; id++) {
      if (CHUNK_BY_ID[id] !== undefined) continue
      const p: HepPacket = { version: 3 }
      expect(storeField(p, id, 1)).toBe(false)
      expect(p).toStrictEqual({ version: 3 })
    }
  })

  it('numbers each row’s kind by KIND_CODE, the code the decoder switches on', () => {
    for (const d of CHUNK_DEFS) expect(d.code).toBe(KIND_CODE[d.kind])
    expect(new Set(Object.values(KIND_CODE)).size).toBe(Object.keys(KIND_CODE).length)
  })
})
