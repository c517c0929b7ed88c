// What re-encoding as HEP v1/v2 loses is told (issue #10, finding 11), once per kind.
import { describe, expect, it } from 'vitest'
import { decode, encode } from '../../src/hep/codec.js'
import { applyEncodingOptions } from '../../src/hep/encoding-options.js'
import { encodingLosses, oncePerKind, type EncodingLoss } from '../../src/hep/lossy.js'
import type { HepPacket } from '../../src/hep/packet.js'
import { sipPacket } from '../net/helpers.js'

const base: HepPacket = sipPacket('OPTIONS sip:a SIP/2.0\r\n\r\n', {
  dstPort: 5061,
  timeUseconds: 5,
  captureId: 7,
})

const kinds = (p: HepPacket, v: 1 | 2 | 3) => encodingLosses(p, v).map((l) => l.kind)

describe('encodingLosses', () => {
  it('nothing for v3, nor for what v1/v2 carry', () => {
    const rich = { ...base, authKey: 'k', correlationId: 'c', nodeName: 'n', payloadType: 100 }
    expect(encodingLosses(rich, 3)).toEqual([])
    expect(kinds(base, 2)).toEqual([])
    // v1 has no time and no capture id
    expect(kinds(base, 1)).toEqual(['time', 'captureId'])
    expect(kinds({ ...base, timeSeconds: undefined, timeUseconds: undefined, captureId: 0 }, 1)).toEqual([])
  })

  it('names the chunks v2 cannot carry, and what a round trip through v2 really drops', () => {
    const p = { ...base, authKey: 'secret', correlationId: 'call-1', nodeName: 'edge', vlanId: 12 }
    const losses = encodingLosses(p, 2)
    expect(losses.map((l) => l.kind)).toEqual(['authKey', 'correlationId', 'vlanId', 'nodeName'])
    expect(losses[0].message).toBe('HEPv2 cannot carry authKey (chunk 0x000e): left out')
    // the detector tells the truth: each field named is gone after v2 and back
    const back = decode(encode({ ...p, version: 2 }))
    for (const k of ['authKey', 'correlationId', 'vlanId', 'nodeName'] as const)
      expect(back[k]).toBeUndefined()
  })

  it('v1 and v2 have no payload type: a LOG packet reads back as SIP', () => {
    const log = { ...base, payloadType: 100 }
    for (const v of [1, 2] as const) {
      const loss = encodingLosses(log, v).find((l) => l.kind === 'payloadType 100')
      expect(loss?.message).toBe(`HEPv${v} has no payload type: LOG (100) packets read back as SIP`)
      expect(decode(encode({ ...log, version: v })).payloadType).toBe(1)
    }
    expect(encodingLosses({ ...base, payloadType: 1 }, 1).some((l) => l.kind.startsWith('payloadType'))).toBe(
      false,
    )
  })

  it('vendor and unknown chunks (kept as bytes) are named by vendor', () => {
    const p: HepPacket = {
      ...base,
      chunks: [1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 15, { vendor: 3, type: 1, value: Buffer.from('x') }],
    }
    const l = encodingLosses(p, 2)
    expect(l.map((x) => x.kind)).toEqual(['chunks of vendor 3'])
    expect(l[0].message).toMatch(/^HEPv2 cannot carry chunks of vendor 3 \(.+\): left out$/)
  })

  it('applyEncodingOptions reports the losses of the packet it makes (options included), once per kind with oncePerKind', () => {
    const seen: string[] = []
    const onLoss = oncePerKind((m) => seen.push(m))
    const p: HepPacket = {
      ...base,
      correlationId: 'c',
      chunks: [{ vendor: 0, type: 0x99, value: Buffer.from('u') }],
    }
    for (let i = 0; i < 3; i++) {
      const q = applyEncodingOptions(p, { version: 2, authKey: 'added', onLoss })
      expect(q.version).toBe(2)
      expect(q.chunks).toBeUndefined()
    }
    expect(seen).toEqual([
      'HEPv2 cannot carry authKey (chunk 0x000e): left out',
      'HEPv2 cannot carry correlationId (chunk 0x0011): left out',
      'HEPv2 cannot carry unknown or repeated generic chunks: left out',
    ])
    // no version change to v3: nothing to report
    const none: EncodingLoss[] = []
    applyEncodingOptions({ ...p, version: 2 }, { version: 3, onLoss: (l) => none.push(l) })
    expect(none).toEqual([])
  })
})
