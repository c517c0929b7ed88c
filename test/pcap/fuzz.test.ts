/**
 * Robustness: the decoder and the SIP scan never throw, whatever the bytes, and the fragment
 * accounting stays consistent.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PacketDecoder } from '../../src/pcap/decoder.js'
import type { DecodeResult } from '../../src/pcap/result.js'
import { scanSip } from '../../src/sip/scan.js'
import { readCapture, type MiniRecord } from '../helpers/mini-pcap.js'
import { frag6, ipv4, ipv6, udp } from './build.js'
import { rng } from '../helpers/rng.js'

const DIR = join(import.meta.dirname, '../../fixtures/captures')
const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]

function checkResult(r: DecodeResult, d: PacketDecoder, cap: number) {
  expect(['udp', 'tcp', 'sctp', 'other', 'pending', 'skip']).toContain(r.kind)
  if (r.kind === 'udp' || r.kind === 'tcp' || r.kind === 'sctp') {
    expect(r.srcPort).toBeGreaterThanOrEqual(0)
    expect(r.payload).toBeInstanceOf(Buffer)
    scanSip(r.payload)
  }
  const s = d.stats
  expect(s.fragmentsHeld).toBeGreaterThanOrEqual(0)
  expect(s.fragmentBytesHeld).toBeGreaterThanOrEqual(0)
  expect(s.fragmentBytesHeld).toBeLessThanOrEqual(cap)
}

const fixtureRecords: MiniRecord[] = readdirSync(DIR)
  .filter((f) => /^sip-.*\.pcap(ng)?$/.test(f))
  .flatMap((f) => readCapture(join(DIR, f)))

describe('fuzz', () => {
  it('2000 random byte buffers on every link type', () => {
    const r = rng(42)
    const d = new PacketDecoder({ fragmentMemoryCap: 20_000 })
    for (let n = 0; n < 2000; n++) {
      const buf = Buffer.alloc(Math.floor(r() * 200))
      for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(r() * 256)
      // make some of them look like IP so that the deeper layers get exercised
      if (buf.length > 0 && r() < 0.5) buf[0] = r() < 0.5 ? 0x45 : 0x60
      for (const lt of LINK_TYPES) checkResult(d.decode(lt, buf, n, 0), d, 20_000)
      expect(() => scanSip(buf)).not.toThrow()
    }
  })

  it('mutated fixture packets (bit flips, truncation, length fields)', () => {
    const r = rng(7)
    const cap = 50_000
    const d = new PacketDecoder({ fragmentMemoryCap: cap, fragmentTimeoutMs: 50 })
    expect(fixtureRecords.length).toBeGreaterThan(500)
    for (let n = 0; n < 6000; n++) {
      const rec = fixtureRecords[Math.floor(r() * fixtureRecords.length)]
      const buf = Buffer.from(rec.data)
      const flips = 1 + Math.floor(r() * 4)
      for (let k = 0; k < flips; k++) {
        // mostly in the headers
        const at = Math.floor(r() * Math.min(buf.length, r() < 0.8 ? 80 : buf.length))
        buf[at] = r() < 0.5 ? buf[at] ^ (1 << Math.floor(r() * 8)) : Math.floor(r() * 256)
      }
      const cut = r() < 0.3 ? buf.subarray(0, Math.floor(r() * buf.length)) : buf
      const lt = r() < 0.9 ? rec.linkType : LINK_TYPES[Math.floor(r() * LINK_TYPES.length)]
      checkResult(d.decode(lt, cut, rec.seconds, rec.nanos), d, cap)
    }
    d.flush()
    expect(d.stats.fragmentsHeld).toBe(0)
    expect(d.stats.fragmentBytesHeld).toBe(0)
  })

  it('mutated SIP payloads never make scanSip throw', () => {
    const r = rng(3)
    const d = new PacketDecoder()
    const payloads: Buffer[] = []
    for (const rec of fixtureRecords) {
      const res = d.decode(rec.linkType, rec.data, rec.seconds, rec.nanos)
      if (res.kind === 'udp' && scanSip(res.payload)) payloads.push(res.payload)
    }
    expect(payloads.length).toBeGreaterThan(100)
    for (let n = 0; n < 3000; n++) {
      const p = Buffer.from(payloads[n % payloads.length])
      for (let k = 0; k < 3; k++) {
        const at = Math.floor(r() * p.length)
        p[at] = [13, 10, 58, 32, 0x49, 0x4c, Math.floor(r() * 256)][Math.floor(r() * 7)]
      }
      const cut = p.subarray(0, Math.floor(r() * (p.length + 1)))
      const info = scanSip(cut)
      if (info) expect(info.headerLength).toBeLessThanOrEqual(cut.length)
    }
  })

  it('random fragment streams keep the accounting consistent', () => {
    const r = rng(11)
    const cap = 30_000
    const d = new PacketDecoder({ fragmentMemoryCap: cap, fragmentTimeoutMs: 2000 })
    // fragments of 600 datagrams (IPv4 and IPv6, random sizes and chunking), shuffled within a
    // window, some lost, some duplicated, some with a random offset
    const pool: { pkt: Buffer; id: number }[] = []
    for (let id = 0; id < 600; id++) {
      const body = Buffer.alloc(100 + Math.floor(r() * 5000), id & 0xff)
      const dgram = udp(id, 5060, body)
      const chunk = 8 * (10 + Math.floor(r() * 200))
      const v6 = r() < 0.5
      for (let off = 0; off < dgram.length; off += chunk) {
        const part = dgram.subarray(off, Math.min(off + chunk, dgram.length))
        const more = off + chunk < dgram.length
        const o = r() < 0.02 ? 8 * Math.floor(r() * 1000) : off
        const pkt = v6
          ? ipv6(Buffer.concat([frag6(17, o, more, id), part]), { next: 44 })
          : ipv4(part, { id, fragOffset: o, more })
        if (r() < 0.03) continue
        pool.push({ pkt, id })
        if (r() < 0.05) pool.push({ pkt, id })
      }
    }
    for (let i = 0; i < pool.length; i++) {
      const j = Math.min(pool.length - 1, i + Math.floor(r() * 6))
      ;[pool[i], pool[j]] = [pool[j], pool[i]]
    }
    let completed = 0
    const reasons: Record<string, number> = {}
    pool.forEach(({ pkt, id }, n) => {
      const res = d.decode(101, pkt, n / 100, 0)
      checkResult(res, d, cap)
      if (res.kind === 'udp') {
        if (res.fragments !== undefined) completed++
        expect(res.srcPort).toBe(id)
        expect(res.payload.equals(Buffer.alloc(res.payload.length, id & 0xff))).toBe(true)
      } else if (res.kind === 'skip') {
        reasons[res.detail ?? res.reason] = (reasons[res.detail ?? res.reason] ?? 0) + 1
      }
    })
    expect(Object.keys(reasons).every((k) => k.startsWith('a fragment') || k.startsWith('fragment'))).toBe(
      true,
    )
    // a reassembled datagram that does not decode as UDP: a stray offset made it end early
    expect(completed).toBeLessThanOrEqual(d.stats.reassembled)
    expect(completed).toBeGreaterThan(300)
    d.flush()
    expect(d.stats).toMatchObject({ fragmentsHeld: 0, fragmentBytesHeld: 0 })
  })
})
