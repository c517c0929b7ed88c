/**
 * Ipv4Texts: a decoding session's formatted IPv4 addresses — the same text as without it, bounded.
 * Ipv4Bits: an encoding session's parsed ones — the same bytes (or the same refusal) as without it.
 */
import { describe, expect, it } from 'vitest'
import { decode, encode } from '../../src/hep/codec.js'
import { HepError } from '../../src/errors.js'
import { ipv4ToString, Ipv4Bits, Ipv4Texts, parseIPv4 } from '../../src/hep/ip.js'

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

describe('Ipv4Bits', () => {
  it('gives the 32 bits of every address, cached or not, and -1 (again and again) for what is none', () => {
    const bits = new Ipv4Bits()
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 500; i++) {
        const s = `${i % 256}.${(i * 7) % 256}.${(i * 13) % 256}.${255 - (i % 256)}`
        expect(bits.of(s)).toBe(Buffer.from(parseIPv4(s) as Uint8Array).readUInt32BE(0))
      }
      for (const s of [
        '1.2.3.04',
        '1.2.3',
        '256.1.1.1',
        '',
        'a.b.c.d',
        '1.2.3.4.5',
        ' 1.2.3.4',
        '::1',
        'x'.repeat(99),
      ])
        expect(bits.of(s)).toBe(-1)
    }
    expect(bits.of('255.255.255.255')).toBe(0xffffffff)
  })

  it('stays bounded by 4,096 addresses', () => {
    const bits = new Ipv4Bits()
    for (let i = 0; i < 10_000; i++) expect(bits.of(`10.0.${i >> 8}.${i & 255}`)).toBe(0x0a000000 + i)
    expect((bits as unknown as { bits: Map<string, number> }).bits.size).toBeLessThanOrEqual(4096)
  })

  it('encode with a session’s bits equals encode without, bytes and errors, packet after packet', () => {
    const addressBits = new Ipv4Bits()
    const out = (f: () => Buffer) => {
      try {
        return f().toString('hex')
      } catch (e) {
        return `${(e as HepError).code}: ${(e as Error).message}`
      }
    }
    for (let i = 0; i < 300; i++) {
      const p = {
        version: 3 as const,
        protocolFamily: 2,
        protocol: 17,
        // a few senders, now and then a text that is no IPv4 address (refused the same each time)
        srcIp: i % 50 === 7 ? '10.0.0.07' : `10.0.${i % 7}.${i % 5}`,
        dstIp: i % 60 === 9 ? '::1' : `192.168.${i % 3}.1`,
        srcPort: 5060,
        dstPort: 5060 + i,
        payloadType: 1,
        captureId: 1,
        payload: Buffer.from(`p${i}`),
      }
      expect(out(() => encode(p, undefined, 0, { addressBits }))).toBe(out(() => encode(p)))
    }
  })
})
