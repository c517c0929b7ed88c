/** Ipv4Texts: a decoding session's formatted IPv4 addresses — the same text as without it, bounded. */
import { describe, expect, it } from 'vitest'
import { decode, encode } from '../../src/hep/codec.js'
import { ipv4ToString, Ipv4Texts } from '../../src/hep/ip.js'

describe('Ipv4Texts', () => {
  it('gives the dotted text of every address, cached or not', () => {
    const t = new Ipv4Texts()
    const b = Buffer.alloc(4)
    for (let i = 0; i < 3000; i++) {
      b.writeUInt32BE((i * 2654435761) >>> 0)
      expect(t.text(b, 0)).toBe(ipv4ToString(b, 0))
      expect(t.text(b, 0)).toBe(ipv4ToString(b, 0)) // the second time from the cache
    }
    expect(t.size).toBe(3000)
  })

  it('stays bounded by 4,096 addresses', () => {
    const t = new Ipv4Texts()
    const b = Buffer.alloc(4)
    for (let i = 0; i < 10_000; i++) {
      b.writeUInt32BE(i)
      t.text(b, 0)
      expect(t.size).toBeLessThanOrEqual(4096)
    }
    b.writeUInt32BE(9_999)
    expect(t.text(b, 0)).toBe('0.0.39.15')
  })

  it('decode with a session’s texts equals decode without, for each packet of a stream of senders', () => {
    const texts = new Ipv4Texts()
    for (let i = 0; i < 200; i++) {
      const raw = encode({
        version: 3,
        protocolFamily: 2,
        protocol: 17,
        srcIp: `10.0.${i % 7}.${i % 251}`,
        dstIp: `192.168.${i % 3}.1`,
        srcPort: 5060,
        dstPort: 5060 + i,
        payloadType: 1,
        captureId: 1,
        payload: Buffer.from(`p${i}`),
      })
      expect(decode(raw, 0, raw.length, { addresses: texts })).toEqual(decode(raw))
    }
    // every distinct source and destination address, once
    const distinct = new Set<string>()
    for (let i = 0; i < 200; i++) distinct.add(`10.0.${i % 7}.${i % 251}`).add(`192.168.${i % 3}.1`)
    expect(texts.size).toBe(distinct.size)
  })
})
