/**
 * HEP v1 / v2: a fixed header, no length field, the payload runs to the end of the datagram.
 * v1: version, hdr_len, family, proto, sport, dport (BE), src, dst (4 or 16 bytes each).
 * v2: v1 + time header ts_sec u32, ts_usec u32, capture id u16, 2 padding bytes — in the sender's
 * host byte order, little-endian in practice (Kamailio); `timeByteOrder: 'be'` reads heplify-server's way.
 */
import { DecodeError, HepError } from '../errors.js'
import { AF_INET, AF_INET6 } from './constants.js'
import { ipv4ToString, ipv6ToString, parseIPv6Text as parseIPv6, writeIPv4 } from './ip.js'
import type { HepPacket } from './packet.js'

export type ByteOrder = 'le' | 'be'

export const V1_HEADER_IPV4 = 16
export const V1_HEADER_IPV6 = 40
export const V2_TIME_HEADER = 12

export function decodeV1V2(
  buf: Buffer,
  offset: number,
  end: number,
  timeByteOrder: ByteOrder = 'le',
): HepPacket {
  const version = buf[offset] as 1 | 2
  if (end - offset < 8) {
    throw new DecodeError(
      'HEP_TRUNCATED',
      offset,
      `HEPv${version} header`,
      `${end - offset} bytes, the header needs at least 16`,
    )
  }
  const hdrLenByte = buf[offset + 1]
  const family = buf[offset + 2]
  let addrLen: number
  let stdHdr: number
  if (family === AF_INET) {
    addrLen = 4
    stdHdr = V1_HEADER_IPV4
  } else if (family === AF_INET6) {
    addrLen = 16
    stdHdr = V1_HEADER_IPV6
  } else {
    throw new DecodeError(
      'HEP_BAD_FAMILY',
      offset + 2,
      'address family',
      `${family}; HEPv${version} knows 2 (IPv4) and 10 (IPv6)`,
    )
  }
  const need = stdHdr + (version === 2 ? V2_TIME_HEADER : 0)
  if (end - offset < need) {
    throw new DecodeError(
      'HEP_TRUNCATED',
      offset,
      `HEPv${version} header`,
      `${end - offset} bytes, an ${family === AF_INET ? 'IPv4' : 'IPv6'} HEPv${version} header needs ${need}`,
    )
  }
  const p: HepPacket = {
    version,
    protocolFamily: family,
    protocol: buf[offset + 3],
    srcIp: addrLen === 4 ? ipv4ToString(buf, offset + 8) : ipv6ToString(buf, offset + 8),
    dstIp: addrLen === 4 ? ipv4ToString(buf, offset + 8 + addrLen) : ipv6ToString(buf, offset + 8 + addrLen),
    srcPort: (buf[offset + 4] << 8) | buf[offset + 5],
    dstPort: (buf[offset + 6] << 8) | buf[offset + 7],
  }
  if (version === 2) {
    const t = offset + stdHdr
    if (timeByteOrder === 'le') {
      p.timeSeconds = buf.readUInt32LE(t)
      p.timeUseconds = buf.readUInt32LE(t + 4)
      p.captureId = buf.readUInt16LE(t + 8)
      const pad = buf.readUInt16LE(t + 10)
      if (pad !== 0) p.v2Padding = pad
    } else {
      p.timeSeconds = buf.readUInt32BE(t)
      p.timeUseconds = buf.readUInt32BE(t + 4)
      p.captureId = buf.readUInt16BE(t + 8)
      const pad = buf.readUInt16BE(t + 10)
      if (pad !== 0) p.v2Padding = pad
    }
  }
  p.payloadType = 1
  if (hdrLenByte !== stdHdr) p.hdrLen = hdrLenByte
  p.payload = buf.subarray(offset + need, end)
  return p
}

function familyOf(p: HepPacket): number {
  if (p.protocolFamily === AF_INET || p.protocolFamily === AF_INET6) return p.protocolFamily
  if (p.srcIp?.includes(':') || p.dstIp?.includes(':')) return AF_INET6
  return AF_INET
}

function need(p: HepPacket, field: 'srcIp' | 'dstIp'): string {
  const v = p[field]
  if (typeof v !== 'string')
    throw new HepError('HEP_ENCODE', `${field}: HEPv${p.version} needs both addresses`)
  return v
}

function payloadLength(p: HepPacket): number {
  const v = p.payload as unknown
  if (v === undefined) return 0
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8')
  return (v as Uint8Array).length
}

export function encodingLengthV1V2(p: HepPacket): number {
  const hdr = familyOf(p) === AF_INET6 ? V1_HEADER_IPV6 : V1_HEADER_IPV4
  return hdr + (p.version === 2 ? V2_TIME_HEADER : 0) + payloadLength(p)
}

function u(value: number | undefined, field: string, max: number, dflt: number): number {
  if (value === undefined) return dflt
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new HepError('HEP_ENCODE', `${field}: ${JSON.stringify(value)} is not an integer from 0 to ${max}`)
  }
  return value
}

export function encodeV1V2(
  p: HepPacket,
  target: Buffer | undefined,
  offset: number,
  timeByteOrder: ByteOrder = 'le',
): { buffer: Buffer; length: number } {
  const version = p.version
  const family = familyOf(p)
  const total = encodingLengthV1V2(p)
  const buf = target ?? Buffer.allocUnsafe(total)
  if (target === undefined) offset = 0
  else if (target.length - offset < total) {
    throw new HepError(
      'HEP_ENCODE',
      `target buffer has ${target.length - offset} bytes from offset ${offset}, packet needs ${total}`,
    )
  }
  const stdHdr = family === AF_INET6 ? V1_HEADER_IPV6 : V1_HEADER_IPV4
  buf[offset] = version
  buf[offset + 1] = u(p.hdrLen, 'hdrLen', 0xff, stdHdr)
  buf[offset + 2] = family
  buf[offset + 3] = u(p.protocol, 'protocol', 0xff, 17)
  buf.writeUInt16BE(u(p.srcPort, 'srcPort', 0xffff, 0), offset + 4)
  buf.writeUInt16BE(u(p.dstPort, 'dstPort', 0xffff, 0), offset + 6)
  const src = need(p, 'srcIp')
  const dst = need(p, 'dstIp')
  if (family === AF_INET) {
    if (!writeIPv4(src, buf, offset + 8))
      throw new HepError('HEP_ENCODE', `srcIp: ${JSON.stringify(src)} is not an IPv4 address`)
    if (!writeIPv4(dst, buf, offset + 12))
      throw new HepError('HEP_ENCODE', `dstIp: ${JSON.stringify(dst)} is not an IPv4 address`)
  } else {
    const s6 = parseIPv6(src)
    const d6 = parseIPv6(dst)
    if (!s6)
      throw new HepError(
        'HEP_ENCODE',
        `srcIp: ${JSON.stringify(src)} is not an IPv6 address (family is IPv6)`,
      )
    if (!d6)
      throw new HepError(
        'HEP_ENCODE',
        `dstIp: ${JSON.stringify(dst)} is not an IPv6 address (family is IPv6)`,
      )
    buf.set(s6, offset + 8)
    buf.set(d6, offset + 24)
  }
  let pos = offset + stdHdr
  if (version === 2) {
    if (p.captureId !== undefined && p.captureId > 0xffff) {
      throw new HepError(
        'HEP_ENCODE',
        `captureId: ${p.captureId} does not fit HEPv2's 16 bits (at most 65535); use --version 3`,
      )
    }
    const sec = u(p.timeSeconds, 'timeSeconds', 0xffffffff, 0)
    const usec = u(p.timeUseconds, 'timeUseconds', 0xffffffff, 0)
    const cid = u(p.captureId, 'captureId', 0xffff, 0)
    const pad = u(p.v2Padding, 'v2Padding', 0xffff, 0)
    if (timeByteOrder === 'le') {
      buf.writeUInt32LE(sec, pos)
      buf.writeUInt32LE(usec, pos + 4)
      buf.writeUInt16LE(cid, pos + 8)
      buf.writeUInt16LE(pad, pos + 10)
    } else {
      buf.writeUInt32BE(sec, pos)
      buf.writeUInt32BE(usec, pos + 4)
      buf.writeUInt16BE(cid, pos + 8)
      buf.writeUInt16BE(pad, pos + 10)
    }
    pos += V2_TIME_HEADER
  }
  const payload = p.payload as unknown
  if (typeof payload === 'string') buf.write(payload, pos, 'utf8')
  else if (payload !== undefined) buf.set(payload as Uint8Array, pos)
  return { buffer: buf, length: total }
}
