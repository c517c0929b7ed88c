import { describe, expect, it } from 'vitest'
import { PacketDecoder } from '../../src/pcap/decoder.js'
import type { DecodeResult, TransportResult } from '../../src/pcap/result.js'
import {
  ah6,
  eth,
  ext6,
  fragment4,
  fragment6,
  ipv4,
  ipv6,
  nullHdr,
  sctp,
  sll,
  sll2,
  tcp,
  udp,
} from './build.js'

const SIP = 'OPTIONS sip:a@example.com SIP/2.0\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n'

function dec(linkType: number, data: Buffer, d = new PacketDecoder()): DecodeResult {
  return d.decode(linkType, data, 1_700_000_000, 0)
}

function asUdp(r: DecodeResult): TransportResult {
  if (r.kind !== 'udp' && r.kind !== 'tcp' && r.kind !== 'sctp')
    throw new Error('not transport: ' + JSON.stringify(r))
  return r
}

const udp4 = ipv4(udp(5060, 5070, SIP), { src: '10.0.0.1', dst: '10.0.0.2', ttl: 63 })
const udp6 = ipv6(udp(5060, 5070, SIP), { src: '2001:db8::1', dst: 'fe80::1:0:0:2', hopLimit: 7 })

describe('link layers', () => {
  const expect4 = {
    kind: 'udp',
    ipVersion: 4,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    srcPort: 5060,
    dstPort: 5070,
    ttl: 63,
  }
  const expect6 = { kind: 'udp', ipVersion: 6, src: '2001:db8::1', dst: 'fe80::1:0:0:2', ttl: 7 }

  it('Ethernet', () => {
    const r = asUdp(dec(1, eth(0x0800, udp4)))
    expect(r).toMatchObject(expect4)
    expect(r.payload.toString()).toBe(SIP)
    expect(r.vlan).toBeUndefined()
    expect(r.fragments).toBeUndefined()
    expect(asUdp(dec(1, eth(0x86dd, udp6)))).toMatchObject(expect6)
  })

  it('802.1Q, QinQ (0x88a8 and 0x9100), stacked: the innermost VLAN id', () => {
    expect(dec(1, eth(0x0800, udp4, [{ tpid: 0x8100, vid: 0x2064 }]))).toMatchObject({
      ...expect4,
      vlan: 100,
    })
    expect(
      dec(
        1,
        eth(0x0800, udp4, [
          { tpid: 0x88a8, vid: 200 },
          { tpid: 0x8100, vid: 100 },
        ]),
      ),
    ).toMatchObject({ ...expect4, vlan: 100 })
    expect(
      dec(
        1,
        eth(0x86dd, udp6, [
          { tpid: 0x9100, vid: 1 },
          { tpid: 0x8100, vid: 2 },
          { tpid: 0x8100, vid: 4095 },
        ]),
      ),
    ).toMatchObject({ ...expect6, vlan: 4095 })
    const tags = Array.from({ length: 9 }, () => ({ tpid: 0x8100, vid: 1 }))
    expect(dec(1, eth(0x0800, udp4, tags))).toMatchObject({ kind: 'skip', reason: 'malformed' })
    expect(dec(1, eth(0x0800, udp4, [{ tpid: 0x8100, vid: 1 }]).subarray(0, 16))).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
    })
  })

  it('Linux SLL and SLL2', () => {
    expect(dec(113, sll(0x0800, udp4))).toMatchObject(expect4)
    expect(dec(113, sll(0x86dd, udp6))).toMatchObject(expect6)
    expect(dec(276, sll2(0x0800, udp4))).toMatchObject(expect4)
    expect(dec(276, sll2(0x86dd, udp6))).toMatchObject(expect6)
    expect(dec(113, sll(0x0806, Buffer.alloc(28)))).toMatchObject({ kind: 'skip', reason: 'not-ip' })
    expect(dec(276, Buffer.alloc(19))).toMatchObject({ kind: 'skip', reason: 'truncated' })
  })

  it('BSD NULL (either byte order) and LOOP (network order)', () => {
    expect(dec(0, nullHdr(2, udp4, true))).toMatchObject(expect4)
    expect(dec(0, nullHdr(2, udp4, false))).toMatchObject(expect4)
    for (const fam of [24, 28, 30]) {
      expect(dec(0, nullHdr(fam, udp6, true))).toMatchObject(expect6)
      expect(dec(0, nullHdr(fam, udp6, false))).toMatchObject(expect6)
      expect(dec(108, nullHdr(fam, udp6, false))).toMatchObject(expect6)
    }
    expect(dec(108, nullHdr(2, udp4, false))).toMatchObject(expect4)
    expect(dec(108, nullHdr(2, udp4, true))).toMatchObject({ kind: 'skip', reason: 'not-ip' })
    expect(dec(0, nullHdr(7, udp4, true))).toMatchObject({
      kind: 'skip',
      reason: 'not-ip',
      detail: 'address family 7',
    })
    expect(dec(0, Buffer.alloc(3))).toMatchObject({ kind: 'skip', reason: 'truncated' })
  })

  it('raw IP (101, 12, 14), LINKTYPE_IPV4 (228), LINKTYPE_IPV6 (229)', () => {
    for (const lt of [101, 12, 14]) {
      expect(dec(lt, udp4)).toMatchObject(expect4)
      expect(dec(lt, udp6)).toMatchObject(expect6)
      expect(dec(lt, Buffer.from([0x50, 0, 0, 0]))).toMatchObject({ kind: 'skip', reason: 'not-ip' })
      expect(dec(lt, Buffer.alloc(0))).toMatchObject({ kind: 'skip', reason: 'truncated' })
    }
    expect(dec(228, udp4)).toMatchObject(expect4)
    expect(dec(229, udp6)).toMatchObject(expect6)
    // a fixed-version link type with the other version inside is malformed
    expect(dec(228, udp6)).toMatchObject({ kind: 'skip', reason: 'malformed' })
    expect(dec(229, udp4)).toMatchObject({ kind: 'skip', reason: 'malformed' })
  })

  it('an unknown link type is counted and skipped, never guessed as Ethernet', () => {
    const d = new PacketDecoder()
    const frame = eth(0x0800, udp4)
    expect(dec(147, frame, d)).toEqual({ kind: 'skip', reason: 'unknown-link-type', detail: 'link type 147' })
    dec(147, frame, d)
    dec(9999, frame, d)
    expect(d.stats.unknownLinkTypes).toEqual(
      new Map([
        [147, 2],
        [9999, 1],
      ]),
    )
  })

  it('non-IP Ethernet frames', () => {
    expect(dec(1, eth(0x0806, Buffer.alloc(28)))).toEqual({
      kind: 'skip',
      reason: 'not-ip',
      detail: 'ethertype 0x0806',
    })
    expect(dec(1, eth(0x0026, Buffer.alloc(38)))).toMatchObject({ kind: 'skip', reason: 'not-ip' }) // 802.3 length
    expect(dec(1, Buffer.alloc(13))).toMatchObject({ kind: 'skip', reason: 'truncated' })
  })
})

describe('IPv4', () => {
  it('options (IHL > 5) are skipped', () => {
    for (const words of [1, 2, 10]) {
      const opts = Buffer.alloc(words * 4, 1) // NOPs
      const r = asUdp(dec(101, ipv4(udp(1, 2, 'hello'), { options: opts })))
      expect(r.payload.toString()).toBe('hello')
      expect(r.srcPort).toBe(1)
    }
  })

  it('total length is honoured: Ethernet padding is not payload', () => {
    const r = asUdp(dec(1, eth(0x0800, ipv4(tcp(1, 2, 'ab'), { protocol: 6 }), [], true)))
    expect(r.kind).toBe('tcp')
    expect(r.payload.toString()).toBe('ab')
    const u = asUdp(dec(1, eth(0x0800, ipv4(udp(1, 2, '')), [], true)))
    expect(u.payload.length).toBe(0)
  })

  it('total length 0 (TSO) means as captured', () => {
    const r = asUdp(dec(101, ipv4(tcp(1, 2, 'abc'), { totalLength: 0, protocol: 6 })))
    expect(r.payload.toString()).toBe('abc')
  })

  it('truncated packets are skipped with a reason, or flagged with acceptTruncated', () => {
    const p = ipv4(udp(1, 2, 'x'.repeat(100)))
    expect(dec(101, p.subarray(0, 60))).toEqual({ kind: 'skip', reason: 'truncated', detail: 'IPv4 payload' })
    expect(dec(101, p.subarray(0, 19))).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
      detail: 'IPv4 header',
    })
    const lenient = new PacketDecoder({ acceptTruncated: true })
    const r = asUdp(dec(101, p.subarray(0, 60), lenient))
    expect(r.truncated).toBe(true)
    expect(r.payload.length).toBe(60 - 28)
    // the UDP header itself must be there
    expect(dec(101, p.subarray(0, 25), lenient)).toMatchObject({ kind: 'skip', reason: 'truncated' })
    // not truncated: no flag
    expect(asUdp(dec(101, p, lenient)).truncated).toBeUndefined()
    // IPv4 options cut off
    expect(dec(101, ipv4(udp(1, 2, ''), { options: Buffer.alloc(8) }).subarray(0, 24))).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
    })
  })

  it('malformed headers', () => {
    expect(dec(101, ipv4(udp(1, 2, 'x'), { ihl: 4 }))).toMatchObject({ kind: 'skip', reason: 'malformed' })
    expect(dec(101, ipv4(udp(1, 2, 'x'), { totalLength: 12 }))).toMatchObject({
      kind: 'skip',
      reason: 'malformed',
    })
    expect(dec(1, eth(0x0800, udp6))).toMatchObject({ kind: 'skip', reason: 'malformed' })
    expect(dec(1, eth(0x86dd, udp4))).toMatchObject({ kind: 'skip', reason: 'malformed' })
  })

  it('ICMP and other protocols are reported as other', () => {
    expect(dec(101, ipv4(Buffer.alloc(8), { protocol: 1, src: '1.2.3.4', dst: '5.6.7.8' }))).toEqual({
      kind: 'other',
      ipVersion: 4,
      protocol: 1,
      src: '1.2.3.4',
      dst: '5.6.7.8',
    })
    expect(dec(101, ipv4(Buffer.alloc(8), { protocol: 47 }))).toMatchObject({ kind: 'other', protocol: 47 })
  })
})

describe('transport', () => {
  it('UDP: the UDP length bounds the payload; bad lengths are malformed', () => {
    // trailing bytes after the UDP datagram inside the IP payload
    const r = asUdp(dec(101, ipv4(Buffer.concat([udp(1, 2, 'abc'), Buffer.from('zz')]))))
    expect(r.payload.toString()).toBe('abc')
    expect(dec(101, ipv4(udp(1, 2, 'abc', 7)))).toMatchObject({ kind: 'skip', reason: 'malformed' })
    expect(dec(101, ipv4(udp(1, 2, 'abc', 100)))).toMatchObject({ kind: 'skip', reason: 'malformed' })
    expect(dec(101, ipv4(Buffer.alloc(5)))).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
      detail: 'UDP header',
    })
  })

  it('TCP: ports, seq, ack, flags, window, data offset honoured', () => {
    const seg = tcp(5060, 40000, 'INVITE', {
      seq: 0xfffffff0,
      ack: 12345,
      flags: 0x018,
      window: 512,
      options: Buffer.from([1, 1, 1, 1, 2, 4, 5, 0xb4, 1, 1, 1, 0]),
    })
    const r = asUdp(dec(101, ipv4(seg, { protocol: 6 })))
    expect(r).toMatchObject({
      kind: 'tcp',
      srcPort: 5060,
      dstPort: 40000,
      tcp: { seq: 0xfffffff0, ack: 12345, flags: 0x18, window: 512 },
    })
    expect(r.payload.toString()).toBe('INVITE')
    const r6 = asUdp(dec(101, ipv6(tcp(1, 2, '', { flags: 0x002 }), { next: 6 })))
    expect(r6).toMatchObject({ kind: 'tcp', tcp: { flags: 2 } })
    expect(r6.payload.length).toBe(0)
    expect(dec(101, ipv4(tcp(1, 2, 'x', { dataOffset: 4 }), { protocol: 6 }))).toMatchObject({
      kind: 'skip',
      reason: 'malformed',
    })
    expect(dec(101, ipv4(tcp(1, 2, '', { dataOffset: 15 }), { protocol: 6 }))).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
    })
  })

  it('SCTP: ports and the raw chunks after the common header', () => {
    const chunks = Buffer.from('0003001000000001000000000000000061626364', 'hex')
    const r = asUdp(dec(101, ipv4(sctp(2905, 2906, chunks), { protocol: 132 })))
    expect(r).toMatchObject({ kind: 'sctp', srcPort: 2905, dstPort: 2906 })
    expect(r.payload.equals(chunks)).toBe(true)
    expect(dec(101, ipv4(Buffer.alloc(11), { protocol: 132 }))).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
    })
  })

  it('payloads are views into the frame, not copies', () => {
    const frame = eth(0x0800, udp4)
    const r = asUdp(dec(1, frame))
    expect(r.payload.buffer).toBe(frame.buffer)
    expect(r.payload.byteOffset).toBe(frame.byteOffset + 14 + 20 + 8)
  })
})

describe('IPv6', () => {
  it('extension headers: hop-by-hop, routing, destination options, AH, atomic fragment', () => {
    const chain = Buffer.concat([
      ext6(43),
      ext6(60, 3),
      ext6(51, 2),
      ah6(44),
      Buffer.from([60, 0, 0, 0, 0, 0, 0, 9]),
      ext6(17),
    ])
    const r = asUdp(dec(229, ipv6(Buffer.concat([chain, udp(7, 8, 'payload')]), { next: 0 })))
    expect(r).toMatchObject({ kind: 'udp', srcPort: 7, dstPort: 8 })
    expect(r.payload.toString()).toBe('payload')
    expect(r.fragments).toBeUndefined()
  })

  it('ESP, ICMPv6 and no-next-header are other', () => {
    expect(dec(229, ipv6(Buffer.alloc(16), { next: 50 }))).toMatchObject({
      kind: 'other',
      protocol: 50,
      ipVersion: 6,
    })
    expect(dec(229, ipv6(Buffer.alloc(8), { next: 58, src: '::1', dst: '::' }))).toEqual({
      kind: 'other',
      ipVersion: 6,
      protocol: 58,
      src: '::1',
      dst: '::',
    })
    expect(dec(229, ipv6(Buffer.concat([ext6(59)]), { next: 60 }))).toMatchObject({
      kind: 'other',
      protocol: 59,
    })
  })

  it('too many, or cut, extension headers', () => {
    const many = Buffer.concat(Array.from({ length: 20 }, () => ext6(60)))
    expect(dec(229, ipv6(many, { next: 60 }))).toMatchObject({ kind: 'skip', reason: 'malformed' })
    expect(dec(229, ipv6(ext6(17, 4).subarray(0, 16), { next: 60 }))).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
      detail: 'IPv6 extension header',
    })
    expect(dec(229, udp6.subarray(0, 39))).toMatchObject({ kind: 'skip', reason: 'truncated' })
    expect(dec(229, udp6.subarray(0, 50))).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
      detail: 'IPv6 payload',
    })
  })

  it('payload length is honoured (padding trimmed)', () => {
    const r = asUdp(dec(229, Buffer.concat([ipv6(tcp(1, 2, 'q'), { next: 6 }), Buffer.alloc(6)])))
    expect(r.payload.toString()).toBe('q')
  })
})

describe('IP-in-IP', () => {
  it('IPv4 in IPv4', () => {
    const inner = ipv4(udp(5060, 5060, SIP), { src: '172.16.0.1', dst: '172.16.0.2', ttl: 9 })
    const r = asUdp(dec(1, eth(0x0800, ipv4(inner, { protocol: 4 }))))
    expect(r).toMatchObject({ src: '172.16.0.1', dst: '172.16.0.2', ttl: 9, ipVersion: 4 })
    expect(r.payload.toString()).toBe(SIP)
  })

  it('IPv6 in IPv4 (6in4) and IPv4 in IPv6', () => {
    expect(dec(1, eth(0x0800, ipv4(udp6, { protocol: 41 })))).toMatchObject({
      ipVersion: 6,
      src: '2001:db8::1',
      dst: 'fe80::1:0:0:2',
    })
    expect(dec(229, ipv6(udp4, { next: 4 }))).toMatchObject({ ipVersion: 4, src: '10.0.0.1' })
    expect(dec(229, ipv6(udp6, { next: 41 }))).toMatchObject({ ipVersion: 6, src: '2001:db8::1' })
  })

  it('nesting is bounded', () => {
    let p = udp4
    for (let i = 0; i < 4; i++) p = ipv4(p, { protocol: 4 })
    expect(dec(101, p)).toMatchObject({ kind: 'udp' })
    p = ipv4(p, { protocol: 4 })
    expect(dec(101, p)).toMatchObject({ kind: 'skip', reason: 'malformed' })
  })

  it('ICMP inside a tunnel reports the inner addresses', () => {
    const inner = ipv4(Buffer.alloc(8), { protocol: 1, src: '9.9.9.9', dst: '8.8.8.8' })
    expect(dec(101, ipv4(inner, { protocol: 4 }))).toMatchObject({
      kind: 'other',
      protocol: 1,
      src: '9.9.9.9',
    })
  })
})

const BIG = 'INVITE sip:b@example.com SIP/2.0\r\nCall-ID: big\r\n\r\n' + 'v=0 '.repeat(900)

function run(d: PacketDecoder, packets: Buffer[], linkType = 101, t0 = 1000): DecodeResult[] {
  return packets.map((p, i) => d.decode(linkType, p, t0, i * 1000))
}

describe('IPv4 fragment reassembly', () => {
  const datagram = udp(5070, 5060, BIG)
  const frags = fragment4(datagram, 1480, { src: '127.0.0.1', dst: '127.0.0.1', id: 77 })

  function check(results: DecodeResult[], n: number) {
    const last = results.at(-1) as DecodeResult
    expect(results.slice(0, -1).every((r) => r.kind === 'pending')).toBe(true)
    const r = asUdp(last)
    expect(r).toMatchObject({ kind: 'udp', src: '127.0.0.1', srcPort: 5070, dstPort: 5060, fragments: n })
    expect(r.payload.toString()).toBe(BIG)
  }

  it('in order', () => {
    expect(frags.length).toBe(3)
    const d = new PacketDecoder()
    check(run(d, frags), 3)
    expect(d.stats).toMatchObject({ reassembled: 1, fragmentsHeld: 0, fragmentBytesHeld: 0 })
  })

  it('out of order, and with duplicates', () => {
    const d = new PacketDecoder()
    check(run(d, [frags[2], frags[0], frags[1]]), 3)
    check(run(d, [frags[1], frags[1], frags[2], frags[0]]), 3)
    check(run(d, [frags[0], frags[0], frags[2], frags[2], frags[1]]), 3)
    expect(d.stats).toMatchObject({ reassembled: 3, fragmentsHeld: 0, fragmentsDropped: 0 })
  })

  it('interleaved datagrams are kept apart by id, addresses and protocol', () => {
    const other = fragment4(udp(1, 2, BIG), 1480, { src: '127.0.0.1', dst: '127.0.0.1', id: 78 })
    const d = new PacketDecoder()
    const res = run(d, [frags[0], other[0], frags[1], other[1], other[2], frags[2]])
    expect(res.map((r) => r.kind)).toEqual(['pending', 'pending', 'pending', 'pending', 'udp', 'udp'])
    expect(res[4]).toMatchObject({ srcPort: 1, fragments: 3 })
    expect(res[5]).toMatchObject({ srcPort: 5070, fragments: 3 })
  })

  it('overlapping fragments are accepted', () => {
    const a = ipv4(datagram.subarray(0, 1600), { id: 5, more: true })
    const b = ipv4(datagram.subarray(1480), { id: 5, fragOffset: 1480 })
    const r = asUdp(run(new PacketDecoder(), [a, b]).at(-1) as DecodeResult)
    expect(r.payload.toString()).toBe(BIG)
  })

  it('a missing fragment: held, then expired after the timeout in capture time', () => {
    const d = new PacketDecoder({ fragmentTimeoutMs: 30_000 })
    expect(d.decode(101, frags[0], 1000, 0).kind).toBe('pending')
    expect(d.decode(101, frags[2], 1010, 0).kind).toBe('pending')
    expect(d.stats).toMatchObject({ fragmentsHeld: 2, fragmentBytesHeld: 1480 + frags[2].length - 20 })
    // 29.9 s after the first fragment: still held
    expect(d.decode(101, udp4, 1029, 900_000_000).kind).toBe('udp')
    expect(d.stats.fragmentsHeld).toBe(2)
    // 30.1 s: any packet moves the clock and expires it
    expect(d.decode(101, udp4, 1030, 100_000_000).kind).toBe('udp')
    expect(d.stats).toMatchObject({
      fragmentsHeld: 0,
      fragmentBytesHeld: 0,
      fragmentsExpired: 2,
      reassembled: 0,
    })
    // the late fragment starts a new datagram rather than completing the expired one
    expect(d.decode(101, frags[1], 1031, 0).kind).toBe('pending')
    d.flush()
    expect(d.stats).toMatchObject({ fragmentsHeld: 0, fragmentsExpired: 3 })
  })

  it('the timeout is capture time, not wall time', () => {
    const d = new PacketDecoder({ fragmentTimeoutMs: 1 })
    expect(d.decode(101, frags[0], 1000, 0).kind).toBe('pending')
    expect(d.decode(101, frags[1], 1000, 500_000).kind).toBe('pending')
    expect(d.decode(101, frags[2], 1000, 900_000).kind).toBe('udp')
  })

  it('the memory cap drops the oldest datagrams first, counting their fragments', () => {
    const d = new PacketDecoder({ fragmentMemoryCap: 4000 })
    const [A, B, C, D] = [1, 2, 3, 4].map((id) => fragment4(datagram, 1480, { id }))
    const kind = (p: Buffer) => d.decode(101, p, 1, 0).kind
    expect(kind(A[0])).toBe('pending')
    expect(kind(B[0])).toBe('pending')
    expect(d.stats).toMatchObject({ fragmentsHeld: 2, fragmentBytesHeld: 2960, fragmentsDropped: 0 })
    // 4440 > 4000: A (the oldest) goes
    expect(kind(C[0])).toBe('pending')
    expect(d.stats).toMatchObject({ fragmentsHeld: 2, fragmentBytesHeld: 2960, fragmentsDropped: 1 })
    // A's second fragment starts a new (youngest) datagram; B is now the oldest and goes
    expect(kind(A[1])).toBe('pending')
    expect(d.stats).toMatchObject({ fragmentsHeld: 2, fragmentBytesHeld: 2960, fragmentsDropped: 2 })
    // C is the oldest: adding to it evicts C itself
    expect(d.decode(101, C[1], 1, 0)).toMatchObject({ kind: 'skip', reason: 'fragment-dropped' })
    expect(d.stats).toMatchObject({ fragmentsHeld: 1, fragmentBytesHeld: 1480, fragmentsDropped: 4 })
    // D completes after evicting A's leftover
    expect(kind(D[0])).toBe('pending')
    expect(kind(D[1])).toBe('pending')
    expect(d.stats).toMatchObject({ fragmentsHeld: 2, fragmentBytesHeld: 2960, fragmentsDropped: 5 })
    expect(d.decode(101, D[2], 1, 0)).toMatchObject({ kind: 'udp', fragments: 3 })
    expect(d.stats).toMatchObject({
      fragmentsHeld: 0,
      fragmentBytesHeld: 0,
      fragmentsDropped: 5,
      reassembled: 1,
    })
    // a fragment bigger than the cap is dropped outright, without evicting anything
    const small = new PacketDecoder({ fragmentMemoryCap: 1000 })
    expect(small.decode(101, fragment4(datagram, 800, { id: 9 })[0], 1, 0).kind).toBe('pending')
    expect(small.decode(101, A[0], 1, 0)).toMatchObject({ kind: 'skip', reason: 'fragment-dropped' })
    expect(small.stats).toMatchObject({ fragmentsDropped: 1, fragmentsHeld: 1 })
    // cap 0: nothing is ever held
    const none = new PacketDecoder({ fragmentMemoryCap: 0 })
    expect(none.decode(101, A[0], 1, 0)).toMatchObject({ kind: 'skip', reason: 'fragment-dropped' })
  })

  it('contradicting last fragments and oversize datagrams are dropped', () => {
    const d = new PacketDecoder()
    expect(d.decode(101, frags[2], 1, 0).kind).toBe('pending')
    const wrongLast = ipv4(Buffer.alloc(16), { id: 77, src: '127.0.0.1', dst: '127.0.0.1', fragOffset: 1480 })
    expect(d.decode(101, wrongLast, 1, 0)).toMatchObject({ kind: 'skip', reason: 'fragment-dropped' })
    expect(d.stats).toMatchObject({ fragmentsDropped: 2, fragmentsHeld: 0 })
    const huge = ipv4(Buffer.alloc(800), { id: 9, fragOffset: 65000, more: true })
    expect(d.decode(101, huge, 1, 0)).toMatchObject({ kind: 'skip', reason: 'fragment-dropped' })
    expect(d.stats.fragmentsDropped).toBe(3)
  })

  it('truncated fragments are skipped; fragments of protocols not decoded are other, not held', () => {
    const d = new PacketDecoder({ acceptTruncated: true })
    expect(d.decode(101, frags[0].subarray(0, 100), 1, 0)).toMatchObject({
      kind: 'skip',
      reason: 'truncated',
    })
    const icmp = fragment4(Buffer.alloc(3000), 1480, { protocol: 1 })
    expect(d.decode(101, icmp[0], 1, 0)).toMatchObject({ kind: 'other', protocol: 1 })
    expect(d.stats.fragmentsHeld).toBe(0)
  })

  it('the reassembled datagram is decoded like an unfragmented one (IP-in-IP inside)', () => {
    const inner = ipv4(udp(5060, 5060, BIG), { src: '10.1.1.1', dst: '10.1.1.2' })
    const outer = fragment4(inner, 1000, { protocol: 4, id: 3 })
    const res = run(new PacketDecoder(), outer)
    expect(res.at(-1)).toMatchObject({ kind: 'udp', src: '10.1.1.1', fragments: outer.length })
  })
})

describe('IPv6 fragment reassembly', () => {
  const datagram = udp(5070, 5060, BIG)

  it('in order, out of order, duplicated', () => {
    const frags = fragment6(datagram, 17, 1232, 0xabcdef01, { src: '::1', dst: '::1' })
    expect(frags.length).toBe(3)
    const d = new PacketDecoder()
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 1, 0, 2],
    ]) {
      const res = run(
        d,
        order.map((i) => frags[i]),
      )
      expect(res.slice(0, -1).every((r) => r.kind === 'pending')).toBe(true)
      const r = asUdp(res.at(-1) as DecodeResult)
      expect(r).toMatchObject({ ipVersion: 6, src: '::1', dst: '::1', srcPort: 5070, fragments: 3 })
      expect(r.payload.toString()).toBe(BIG)
    }
    expect(d.stats).toMatchObject({ reassembled: 3, fragmentsHeld: 0 })
  })

  it('headers before and after the fragment header', () => {
    // hop-by-hop (unfragmentable) -> fragment -> destination options -> UDP (fragmentable)
    const fragmentable = Buffer.concat([ext6(17, 2), datagram])
    const frags = fragment6(fragmentable, 60, 1024, 42, { next: 0 }, ext6(44))
    const res = run(new PacketDecoder(), frags)
    const r = asUdp(res.at(-1) as DecodeResult)
    expect(r).toMatchObject({ srcPort: 5070, fragments: frags.length })
    expect(r.payload.toString()).toBe(BIG)
  })

  it('a missing fragment expires; ids keep datagrams apart', () => {
    const a = fragment6(datagram, 17, 1232, 1)
    const b = fragment6(datagram, 17, 1232, 2)
    const d = new PacketDecoder({ fragmentTimeoutMs: 5000 })
    expect(d.decode(229, a[0], 10, 0).kind).toBe('pending')
    expect(d.decode(229, b[0], 12, 0).kind).toBe('pending')
    expect(d.decode(229, b[1], 12, 0).kind).toBe('pending')
    expect(d.decode(229, b[2], 12, 0)).toMatchObject({ kind: 'udp', fragments: 3 })
    expect(d.decode(229, a[1], 16, 0).kind).toBe('pending') // a[0] expired first
    expect(d.stats).toMatchObject({ fragmentsExpired: 1, fragmentsHeld: 1, reassembled: 1 })
  })

  it('fragments of ICMPv6 are other', () => {
    const frags = fragment6(Buffer.alloc(3000), 58, 1232, 5)
    expect(dec(229, frags[1])).toMatchObject({ kind: 'other', protocol: 58 })
  })
})
