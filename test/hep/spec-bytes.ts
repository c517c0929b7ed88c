/**
 * A tiny HEP byte builder written straight from the wire layout in docs/HEP.md, independent of
 * src/hep: the expected bytes of hand-made packets come from here, not from our own encoder.
 */

const hex2 = (n: number): string => (n & 0xff).toString(16).padStart(2, '0')

/** big-endian unsigned integers as hex */
export const u8 = (n: number): string => hex2(n)
export const u16 = (n: number): string => hex2(n >>> 8) + hex2(n)
export const u32 = (n: number): string => hex2(n >>> 24) + hex2(n >>> 16) + hex2(n >>> 8) + hex2(n)
/** little-endian (the HEPv2 time header in practice) */
export const le16 = (n: number): string => hex2(n) + hex2(n >>> 8)
export const le32 = (n: number): string => hex2(n) + hex2(n >>> 8) + hex2(n >>> 16) + hex2(n >>> 24)

export const text = (s: string): string => Buffer.from(s, 'utf8').toString('hex')
export const ip4 = (s: string): string =>
  s
    .split('.')
    .map((x) => hex2(Number(x)))
    .join('')

/** One chunk: vendor u16 | type u16 | length u16 (6-byte header included) | value. */
export function chunk(vendor: number, type: number, valueHex: string): string {
  return u16(vendor) + u16(type) + u16(6 + valueHex.length / 2) + valueHex
}

/** "HEP3" | total length u16 (header included) | chunks */
export function hep3(...chunks: string[]): string {
  const body = chunks.join('')
  return '48455033' + u16(6 + body.length / 2) + body
}

export interface V1V2Header {
  hdrLen?: number
  family: 2 | 10
  proto: number
  sport: number
  dport: number
  /** address bytes as hex: 4 or 16 bytes each */
  srcHex: string
  dstHex: string
}

/** version | hdr_len | family | proto | sport BE | dport BE | src | dst */
export function v1Header(version: 1 | 2, h: V1V2Header): string {
  const hdrLen = h.hdrLen ?? (h.family === 2 ? 16 : 40)
  return (
    u8(version) + u8(hdrLen) + u8(h.family) + u8(h.proto) + u16(h.sport) + u16(h.dport) + h.srcHex + h.dstHex
  )
}

/** HEPv2 time header: ts_sec u32, ts_usec u32, capture id u16, 2 padding bytes; little-endian by default. */
export function v2Time(
  sec: number,
  usec: number,
  captureId: number,
  padding = 0,
  order: 'le' | 'be' = 'le',
): string {
  return order === 'le'
    ? le32(sec) + le32(usec) + le16(captureId) + le16(padding)
    : u32(sec) + u32(usec) + u16(captureId) + u16(padding)
}
