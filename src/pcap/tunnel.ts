/**
 * Tunnel headers: GRE (RFC 2784 / 2890, with RFC 1701 routing), the ERSPAN types I, II and III that
 * ride on GRE, and VXLAN (RFC 7348). Each parse finds what the tunnel carries and where it starts;
 * dispatch.ts sends it back to the network layer (IP) or to an inner Ethernet frame. Results go into a
 * reused scratch TunnelHeader; nothing allocates. IP-in-IP and IPv6-in-IP need no header of their own
 * (dispatch.ts decodes the inner IP header straight away).
 */

import { ETHERTYPE_ERSPAN_II, ETHERTYPE_ERSPAN_III, ETHERTYPE_TEB } from './link.js'

/** IANA port of VXLAN */
export const VXLAN_PORT = 4789

export const TUN_OK = 0
export const TUN_TRUNCATED = 1
export const TUN_MALFORMED = 2
/** a tunnel we do not open (GRE version 1 / PPTP, an ERSPAN III frame type other than Ethernet) */
export const TUN_UNSUPPORTED = 3

/** GRE flag bits (first byte) */
const GRE_C = 0x80
const GRE_R = 0x40
const GRE_K = 0x20
const GRE_S = 0x10

/** RFC 1701 source route entries walked before the packet is called malformed */
const MAX_SRE = 16

/** Scratch output of the tunnel parsers, reused for every packet. */
export class TunnelHeader {
  /**
   * What the tunnel carries, as an ethertype: 0x0800 / 0x86dd (an IP packet), ETHERTYPE_TEB (an
   * Ethernet frame: GRE transparent bridging, ERSPAN, VXLAN), or another GRE protocol type.
   */
  protocol = 0
  /** where the carried packet or frame starts */
  payloadOffset = 0
  /** static text saying what was wrong when a parse does not return TUN_OK */
  error = ''
}

/**
 * GRE header at buf[off], the IP payload ending at `end`. Optional fields (checksum + offset, key,
 * sequence number, RFC 1701 routing) are skipped. Protocol type 0x88BE is ERSPAN: type I when the GRE
 * header has no sequence number (the mirrored Ethernet frame follows directly), type II (an 8-byte
 * ERSPAN header) when it has one; 0x22EB is ERSPAN type III (12 bytes, plus the 8-byte platform
 * specific sub-header when its O bit is set). ERSPAN always yields ETHERTYPE_TEB.
 */
export function parseGre(buf: Buffer, off: number, end: number, t: TunnelHeader): number {
  if (end - off < 4) {
    t.error = 'GRE header'
    return TUN_TRUNCATED
  }
  const flags = buf[off]
  const version = buf[off + 1] & 7
  if (version !== 0) {
    t.error = version === 1 ? 'GRE version 1 (PPTP)' : 'GRE version > 1'
    return TUN_UNSUPPORTED
  }
  const proto = (buf[off + 2] << 8) | buf[off + 3]
  let p = off + 4
  if ((flags & (GRE_C | GRE_R)) !== 0) p += 4
  if ((flags & GRE_K) !== 0) p += 4
  const seq = (flags & GRE_S) !== 0
  if (seq) p += 4
  if (p > end) {
    t.error = 'GRE optional fields'
    return TUN_TRUNCATED
  }
  if ((flags & GRE_R) !== 0) {
    // RFC 1701 routing: source route entries (family(2) offset(1) length(1) data) up to a NULL entry
    for (let n = 0; ; n++) {
      if (n >= MAX_SRE) {
        t.error = 'more than 16 GRE source route entries'
        return TUN_MALFORMED
      }
      if (end - p < 4) {
        t.error = 'GRE routing'
        return TUN_TRUNCATED
      }
      const family = (buf[p] << 8) | buf[p + 1]
      const len = buf[p + 3]
      p += 4 + len
      if (family === 0 && len === 0) break
    }
    if (p > end) {
      t.error = 'GRE routing'
      return TUN_TRUNCATED
    }
  }
  if (proto === ETHERTYPE_ERSPAN_II) {
    if (seq) {
      // ERSPAN type II: Ver(4)=1 VLAN(12) COS(3) En(2) T(1) Session(10) Reserved(12) Index(20)
      if (end - p < 8) {
        t.error = 'ERSPAN type II header'
        return TUN_TRUNCATED
      }
      if (buf[p] >> 4 !== 1) {
        t.error = 'ERSPAN type II version is not 1'
        return TUN_MALFORMED
      }
      p += 8
    }
    t.protocol = ETHERTYPE_TEB
  } else if (proto === ETHERTYPE_ERSPAN_III) {
    // Ver(4)=2 VLAN(12) COS(3) BSO(2) T(1) Session(10) Timestamp(32) SGT(16) P(1) FT(5) HW(6) D(1) Gra(2) O(1)
    if (end - p < 12) {
      t.error = 'ERSPAN type III header'
      return TUN_TRUNCATED
    }
    if (buf[p] >> 4 !== 2) {
      t.error = 'ERSPAN type III version is not 2'
      return TUN_MALFORMED
    }
    const w = (buf[p + 10] << 8) | buf[p + 11]
    if (((w >> 10) & 0x1f) !== 0) {
      t.error = 'ERSPAN type III frame type other than Ethernet'
      return TUN_UNSUPPORTED
    }
    p += (w & 1) !== 0 ? 20 : 12
    if (p > end) {
      t.error = 'ERSPAN type III platform specific sub-header'
      return TUN_TRUNCATED
    }
    t.protocol = ETHERTYPE_TEB
  } else {
    t.protocol = proto
  }
  t.payloadOffset = p
  return TUN_OK
}

/**
 * Is the UDP payload buf[off, end) (to port 4789) a VXLAN packet? Its 8-byte header has the I flag
 * (a valid VNI) and an Ethernet header fits after it. When it is not, the datagram is an ordinary one.
 */
export function isVxlan(buf: Buffer, off: number, end: number): boolean {
  return end - off >= 8 + 14 && (buf[off] & 0x08) !== 0
}
