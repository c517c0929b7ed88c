/**
 * The dispatch tables between layers: ethertype -> network-layer decoder, IP protocol -> transport
 * decoder (and the tunnels back to the network layer: IP-in-IP, IPv6-in-IP, GRE, ERSPAN I/II/III,
 * VXLAN), plus the glue that sends fragments to the reassembly table and builds the results. The
 * layers themselves (link.ts, ip.ts, transport.ts, tunnel.ts, fragments.ts) know nothing of each other.
 *
 * A tunnelled packet is reported with its innermost IP header's addresses (and the innermost VLAN tag
 * seen, outer or inner); at most MAX_TUNNEL_DEPTH tunnels are opened below the outermost IP header.
 *
 * Everything runs on one reused DecodeState: no closures, no per-packet objects besides the result
 * (and its address strings and payload view).
 */

import { Ipv4Texts } from '../hep/ip.js'
import { ipv6ToString } from './addr.js'
import { FRAG_COMPLETE, FRAG_PENDING, type FragmentTable } from './fragments.js'
import {
  IP_OK,
  IP_TRUNCATED,
  IPPROTO_GRE,
  IPPROTO_IPIP,
  IPPROTO_IPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IpHeader,
  isIPv6ExtensionHeader,
  parseIPv4,
  parseIPv6,
  walkIPv6,
} from './ip.js'
import {
  decodeEthernetAt,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_TEB,
  LINK_MALFORMED,
  LINK_OK,
  LINK_TRUNCATED,
  LinkFrame,
} from './link.js'
import { PENDING, skip, type DecodeResult, type OtherResult, type TransportResult } from './result.js'
import { L4_OK, L4_TRUNCATED, parseSctp, parseTcp, parseUdp, TransportHeader } from './transport.js'
import {
  isVxlan,
  parseGre,
  TUN_OK,
  TUN_TRUNCATED,
  TUN_UNSUPPORTED,
  TunnelHeader,
  VXLAN_PORT,
} from './tunnel.js'

/** Tunnels (IP-in-IP, GRE, ERSPAN, VXLAN) nested below the outermost IP header. */
export const MAX_TUNNEL_DEPTH = 4

/** Per-decoder scratch state, reset for every frame. */
export class DecodeState {
  readonly link = new LinkFrame()
  readonly ip = new IpHeader()
  readonly l4 = new TransportHeader()
  readonly tun = new TunnelHeader()
  /** capture time of the frame being decoded, in ms */
  nowMs = 0
  vlan: number | undefined = undefined
  fragments: number | undefined = undefined
  /** the IP layer was captured short and acceptTruncated let it through */
  truncated = false
  /** where the innermost IP header's addresses are */
  ipVersion: 4 | 6 = 4
  addrBuf: Buffer = Buffer.alloc(0)
  srcOffset = 0
  dstOffset = 0
  ttl = 0
  /** IPv4 texts formatted once each (a capture has few addresses: formatting was ~10 % of a decode) */
  readonly ipv4 = new Ipv4Texts()
  constructor(
    readonly frags: FragmentTable,
    readonly acceptTruncated: boolean,
  ) {}
}

/** ethertype -> network-layer decoder */
export function decodeNetwork(
  s: DecodeState,
  netType: number,
  buf: Buffer,
  off: number,
  end: number,
  depth: number,
): DecodeResult {
  switch (netType) {
    case ETHERTYPE_IPV4:
      return decodeIPv4(s, buf, off, end, depth)
    case ETHERTYPE_IPV6:
      return decodeIPv6(s, buf, off, end, depth)
    default:
      return skip('not-ip', 'ethertype 0x' + netType.toString(16).padStart(4, '0'))
  }
}

/** IP protocol -> transport decoder (or back to the network layer for IP-in-IP). */
export function decodeTransport(
  s: DecodeState,
  proto: number,
  buf: Buffer,
  off: number,
  end: number,
  depth: number,
): DecodeResult {
  const t = s.l4
  switch (proto) {
    case IPPROTO_UDP: {
      const st = parseUdp(buf, off, end, t)
      if (st !== L4_OK) return skip(st === L4_TRUNCATED ? 'truncated' : 'malformed', t.error)
      if (t.truncated && !s.truncated) return skip('malformed', 'UDP length past the end of the IP payload')
      // VXLAN: one integer compare on the hot path; the header is checked before it is believed
      if (t.dstPort === VXLAN_PORT && depth < MAX_TUNNEL_DEPTH && isVxlan(buf, t.payloadOffset, t.payloadEnd))
        return decodeInnerEthernet(s, buf, t.payloadOffset + 8, t.payloadEnd, depth + 1)
      return transportResult('udp', s, buf, t)
    }
    case IPPROTO_TCP: {
      const st = parseTcp(buf, off, end, t)
      if (st !== L4_OK) return skip(st === L4_TRUNCATED ? 'truncated' : 'malformed', t.error)
      const r = transportResult('tcp', s, buf, t)
      r.tcp = { seq: t.seq, ack: t.ack, flags: t.flags, window: t.window }
      return r
    }
    case IPPROTO_SCTP: {
      const st = parseSctp(buf, off, end, t)
      if (st !== L4_OK) return skip(st === L4_TRUNCATED ? 'truncated' : 'malformed', t.error)
      return transportResult('sctp', s, buf, t)
    }
    case IPPROTO_IPIP:
      if (depth >= MAX_TUNNEL_DEPTH) return skip('malformed', 'IP-in-IP nested too deep')
      return decodeIPv4(s, buf, off, end, depth + 1)
    case IPPROTO_IPV6:
      if (depth >= MAX_TUNNEL_DEPTH) return skip('malformed', 'IP-in-IP nested too deep')
      return decodeIPv6(s, buf, off, end, depth + 1)
    case IPPROTO_GRE: {
      if (depth >= MAX_TUNNEL_DEPTH) return skip('malformed', 'tunnels nested too deep')
      const g = s.tun
      const gs = parseGre(buf, off, end, g)
      // GRE we do not open (PPTP, a protocol type other than IP / Ethernet / ERSPAN) is reported
      // as what it is: IP protocol 47
      if (gs === TUN_UNSUPPORTED) return otherResult(s, proto)
      if (gs !== TUN_OK) return skip(gs === TUN_TRUNCATED ? 'truncated' : 'malformed', g.error)
      if (g.protocol === ETHERTYPE_TEB) return decodeInnerEthernet(s, buf, g.payloadOffset, end, depth + 1)
      if (g.protocol === ETHERTYPE_IPV4 || g.protocol === ETHERTYPE_IPV6)
        return decodeNetwork(s, g.protocol, buf, g.payloadOffset, end, depth + 1)
      return otherResult(s, proto)
    }
    default:
      return otherResult(s, proto)
  }
}

/** An Ethernet frame carried by a tunnel (GRE bridging, ERSPAN, VXLAN): buf[off, end). */
function decodeInnerEthernet(
  s: DecodeState,
  buf: Buffer,
  off: number,
  end: number,
  depth: number,
): DecodeResult {
  const lf = s.link
  const st = decodeEthernetAt(buf, off, end, lf)
  if (st !== LINK_OK) {
    if (st === LINK_TRUNCATED) return skip('truncated', 'Ethernet header inside a tunnel')
    if (st === LINK_MALFORMED) return skip('malformed', 'more than 8 stacked VLAN tags inside a tunnel')
    return skip('not-ip', 'ethertype 0x' + lf.netType.toString(16).padStart(4, '0') + ' inside a tunnel')
  }
  if (lf.vlan >= 0) s.vlan = lf.vlan
  return decodeNetwork(s, lf.netType, buf, lf.offset, end, depth)
}

/** Protocols worth holding fragments for (the rest is reported as 'other' straight away). */
function reassembles(proto: number, version: 4 | 6): boolean {
  return (
    proto === IPPROTO_UDP ||
    proto === IPPROTO_TCP ||
    proto === IPPROTO_SCTP ||
    proto === IPPROTO_IPIP ||
    proto === IPPROTO_IPV6 ||
    proto === IPPROTO_GRE ||
    (version === 6 && isIPv6ExtensionHeader(proto))
  )
}

function ipSkip(status: number, error: string): DecodeResult {
  return skip(status === IP_TRUNCATED ? 'truncated' : 'malformed', error)
}

/**
 * Adds the fragment described by `s.ip` to its datagram: the whole datagram when this fragment
 * completes it, else what to return for now (pending, or dropped).
 */
function addFragment(s: DecodeState, key: string, proto: number, buf: Buffer): Buffer | DecodeResult {
  const h = s.ip
  const frags = s.frags
  const r = frags.add(
    key,
    proto,
    h.fragmentOffset,
    h.moreFragments,
    buf,
    h.payloadOffset,
    h.payloadEnd,
    s.nowMs,
  )
  if (r === FRAG_PENDING) return PENDING
  if (r !== FRAG_COMPLETE) return skip('fragment-dropped', frags.error)
  s.fragments = frags.count
  return frags.datagram
}

function decodeIPv4(s: DecodeState, buf: Buffer, off: number, end: number, depth: number): DecodeResult {
  const h = s.ip
  const st = parseIPv4(buf, off, end, h)
  if (st !== IP_OK) return ipSkip(st, h.error)
  s.ipVersion = 4
  s.addrBuf = buf
  s.srcOffset = h.srcOffset
  s.dstOffset = h.dstOffset
  s.ttl = h.ttl
  const proto = h.protocol
  if (h.truncated) {
    if (h.fragment || !s.acceptTruncated) return skip('truncated', 'IPv4 payload')
    s.truncated = true
  }
  if (!h.fragment) return decodeTransport(s, proto, buf, h.payloadOffset, h.payloadEnd, depth)
  if (!reassembles(proto, 4)) return otherResult(s, proto)
  // key: protocol, identification, source and destination (8 bytes as latin1)
  const key = '4:' + proto + ':' + h.fragmentId + ':' + buf.toString('latin1', h.srcOffset, h.srcOffset + 8)
  const dg = addFragment(s, key, proto, buf)
  if (!Buffer.isBuffer(dg)) return dg
  return decodeTransport(s, proto, dg, 0, dg.length, depth)
}

function decodeIPv6(s: DecodeState, buf: Buffer, off: number, end: number, depth: number): DecodeResult {
  const h = s.ip
  let st = parseIPv6(buf, off, end, h)
  if (st !== IP_OK) return ipSkip(st, h.error)
  s.ipVersion = 6
  s.addrBuf = buf
  s.srcOffset = h.srcOffset
  s.dstOffset = h.dstOffset
  s.ttl = h.ttl
  if (h.truncated) {
    if (h.fragment || !s.acceptTruncated) return skip('truncated', 'IPv6 payload')
    s.truncated = true
  }
  if (!h.fragment) return decodeTransport(s, h.protocol, buf, h.payloadOffset, h.payloadEnd, depth)
  const proto = h.protocol
  if (!reassembles(proto, 6)) return otherResult(s, proto)
  // key (RFC 8200 section 4.5): identification, source and destination (32 bytes as latin1)
  const key = '6:' + h.fragmentId + ':' + buf.toString('latin1', h.srcOffset, h.srcOffset + 32)
  const dg = addFragment(s, key, proto, buf)
  if (!Buffer.isBuffer(dg)) return dg
  // the reassembled data starts with the header the offset-0 fragment named: walk on from there
  h.payloadEnd = dg.length
  st = walkIPv6(dg, 0, dg.length, s.frags.protocol, h)
  if (st !== IP_OK) return ipSkip(st, h.error)
  if (h.fragment) return skip('malformed', 'fragment header inside a reassembled IPv6 datagram')
  return decodeTransport(s, h.protocol, dg, h.payloadOffset, dg.length, depth)
}

function addrText(s: DecodeState, off: number): string {
  return s.ipVersion === 4 ? s.ipv4.text(s.addrBuf, off) : ipv6ToString(s.addrBuf, off)
}

function transportResult(
  kind: 'udp' | 'tcp' | 'sctp',
  s: DecodeState,
  buf: Buffer,
  t: TransportHeader,
): TransportResult {
  return {
    kind,
    ipVersion: s.ipVersion,
    src: addrText(s, s.srcOffset),
    dst: addrText(s, s.dstOffset),
    srcPort: t.srcPort,
    dstPort: t.dstPort,
    payload: buf.subarray(t.payloadOffset, t.payloadEnd),
    vlan: s.vlan,
    ttl: s.ttl,
    tcp: undefined,
    fragments: s.fragments,
    truncated: s.truncated ? true : undefined,
  }
}

function otherResult(s: DecodeState, protocol: number): OtherResult {
  return {
    kind: 'other',
    ipVersion: s.ipVersion,
    protocol,
    src: addrText(s, s.srcOffset),
    dst: addrText(s, s.dstOffset),
  }
}
