// Tunnels in the dispatch tables: GRE (with its optional fields), ERSPAN I/II/III, VXLAN, IP-in-IP.
import { describe, expect, it } from 'vitest'
import { PacketDecoder } from '../../src/pcap/decoder.js'
import type { DecodeResult } from '../../src/pcap/result.js'
import { eth, ipv4, ipv6, tcp, udp } from './build.js'

const SIP = 'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: t\r\nContent-Length: 0\r\n\r\n'
const inner4 = ipv4(udp(5060, 5070, SIP), { src: '172.16.0.1', dst: '172.16.0.2', ttl: 7 })
const inner6 = ipv6(udp(5060, 5070, SIP), { src: '2001:db8::a', dst: '2001:db8::b' })
const innerEth = eth(0x0800, inner4)
const innerEthVlan = eth(0x0800, inner4, [{ tpid: 0x8100, vid: 300 }])

function dec(frame: Buffer): DecodeResult {
  return new PacketDecoder().decode(1, frame, 1, 0)
}

function gre(
  proto: number,
  payload: Buffer,
  o: { csum?: boolean; key?: number; seq?: number; version?: number; routing?: Buffer } = {},
): Buffer {
  let flags = 0
  const opt: Buffer[] = []
  if (o.csum || o.routing) {
    flags |= o.csum ? 0x80 : 0
    opt.push(Buffer.alloc(4))
  }
  if (o.routing) flags |= 0x40
  if (o.key !== undefined) {
    flags |= 0x20
    const k = Buffer.alloc(4)
    k.writeUInt32BE(o.key)
    opt.push(k)
  }
  if (o.seq !== undefined) {
    flags |= 0x10
    const s = Buffer.alloc(4)
    s.writeUInt32BE(o.seq)
    opt.push(s)
  }
  if (o.routing) opt.push(o.routing)
  const h = Buffer.from([flags, o.version ?? 0, proto >> 8, proto & 255])
  return Buffer.concat([h, ...opt, payload])
}

const outer = (p: Buffer, proto: number) =>
  eth(0x0800, ipv4(p, { protocol: proto, src: '192.0.2.1', dst: '192.0.2.2' }))

function erspan2(frame: Buffer): Buffer {
  const h = Buffer.alloc(8)
  h.writeUInt16BE((1 << 12) | 10, 0) // version 1, VLAN 10
  h.writeUInt16BE(5, 2) // session 5
  return Buffer.concat([h, frame])
}

function erspan3(frame: Buffer, o: { sub?: boolean; ft?: number } = {}): Buffer {
  const h = Buffer.alloc(12)
  h.writeUInt16BE(2 << 12, 0)
  h.writeUInt32BE(123456, 4)
  h.writeUInt16BE(((o.ft ?? 0) << 10) | (o.sub ? 1 : 0), 10)
  return Buffer.concat([h, o.sub ? Buffer.alloc(8, 0xaa) : Buffer.alloc(0), frame])
}

const expectInner = (r: DecodeResult) => {
  expect(r).toMatchObject({ kind: 'udp', src: '172.16.0.1', dst: '172.16.0.2', srcPort: 5060, ttl: 7 })
  if (r.kind === 'udp') expect(r.payload.toString()).toBe(SIP)
}

describe('tunnels', () => {
  it('GRE carrying IPv4 and IPv6, with checksum, key, sequence number and RFC 1701 routing', () => {
    expectInner(dec(outer(gre(0x0800, inner4), 47)))
    expectInner(dec(outer(gre(0x0800, inner4, { csum: true, key: 42, seq: 7 }), 47)))
    const sre = Buffer.from([0, 2, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0]) // one SRE of 4 bytes, then the NULL SRE
    expectInner(dec(outer(gre(0x0800, inner4, { routing: sre }), 47)))
    expect(dec(outer(gre(0x86dd, inner6), 47))).toMatchObject({
      kind: 'udp',
      ipVersion: 6,
      src: '2001:db8::a',
    })
    // GRE over IPv6
    expectInner(dec(eth(0x86dd, ipv6(gre(0x0800, inner4), { next: 47 }))))
  })

  it('GRE transparent Ethernet bridging (0x6558): the inner frame, its VLAN tag reported', () => {
    expectInner(dec(outer(gre(0x6558, innerEth, { key: 1 }), 47)))
    expect(dec(outer(gre(0x6558, innerEthVlan), 47))).toMatchObject({ kind: 'udp', vlan: 300 })
  })

  it('ERSPAN type I (0x88BE, no sequence number), II (0x88BE + sequence) and III (0x22EB, with and without sub-header)', () => {
    expectInner(dec(outer(gre(0x88be, innerEth), 47)))
    expectInner(dec(outer(gre(0x88be, erspan2(innerEth), { seq: 1 }), 47)))
    expectInner(dec(outer(gre(0x22eb, erspan3(innerEth), { seq: 1 }), 47)))
    expectInner(dec(outer(gre(0x22eb, erspan3(innerEthVlan, { sub: true }), { seq: 2 }), 47)))
  })

  it('VXLAN on UDP 4789: the inner Ethernet frame; without the I flag it is an ordinary datagram', () => {
    const vx = Buffer.concat([Buffer.from([0x08, 0, 0, 0, 0, 0x13, 0x89, 0]), innerEth])
    expectInner(dec(outer(udp(49152, 4789, vx), 17)))
    const notVx = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]), innerEth])
    expect(dec(outer(udp(49152, 4789, notVx), 17))).toMatchObject({
      kind: 'udp',
      dstPort: 4789,
      src: '192.0.2.1',
    })
    // SIP over TCP inside VXLAN
    const t = Buffer.concat([
      vx.subarray(0, 8),
      eth(0x0800, ipv4(tcp(5070, 5060, SIP), { protocol: 6, src: '10.1.1.1' })),
    ])
    expect(dec(outer(udp(1, 4789, t), 17))).toMatchObject({ kind: 'tcp', src: '10.1.1.1', dstPort: 5060 })
  })

  it('IP-in-IP and IPv6-in-IPv4 (already in the tables)', () => {
    expectInner(dec(outer(inner4, 4)))
    expect(dec(outer(inner6, 41))).toMatchObject({ kind: 'udp', ipVersion: 6, dst: '2001:db8::b' })
  })

  it('what is not opened is reported as GRE (IP protocol 47); bad headers are truncated / malformed', () => {
    expect(dec(outer(gre(0x880b, Buffer.alloc(20), { version: 1 }), 47))).toMatchObject({
      kind: 'other',
      protocol: 47,
    })
    expect(dec(outer(gre(0x1234, Buffer.alloc(20)), 47))).toMatchObject({ kind: 'other', protocol: 47 })
    expect(dec(outer(gre(0x22eb, erspan3(innerEth, { ft: 2 })), 47))).toMatchObject({
      kind: 'other',
      protocol: 47,
    })
    expect(dec(outer(Buffer.from([0x30, 0, 8, 0]), 47))).toMatchObject({ kind: 'skip', reason: 'truncated' })
    expect(dec(outer(gre(0x88be, Buffer.alloc(4), { seq: 1 }), 47))).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
    })
    expect(dec(outer(gre(0x6558, eth(0x0806, Buffer.alloc(28))), 47))).toMatchObject({
      kind: 'skip',
      reason: 'not-ip',
    })
  })

  it('nesting is bounded', () => {
    let p = inner4
    for (let i = 0; i < 4; i++) p = ipv4(gre(0x0800, p), { protocol: 47 })
    expect(new PacketDecoder().decode(101, p, 1, 0)).toMatchObject({ kind: 'udp' })
    p = ipv4(gre(0x0800, p), { protocol: 47 })
    expect(new PacketDecoder().decode(101, p, 1, 0)).toMatchObject({ kind: 'skip', reason: 'malformed' })
  })
})
