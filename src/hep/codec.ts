/**
 * The HEP codec for every version: `decode`, `encode`, `encodingLength`, version detected per packet.
 * Each version is also exposed as its own trio (`hep1`, `hep2`, `hep3`) for callers that know it.
 */
import { DecodeError, HepError } from '../errors.js'
import type { HepPacket } from './packet.js'
import { decodeV1V2, encodeV1V2, encodingLengthV1V2, type ByteOrder } from './v1v2.js'
import type { Ipv4Bits, Ipv4Texts } from './ip.js'
import { decodeV3, encodeV3, encodingLengthV3 } from './v3.js'

export interface EncodeOptions {
  /** byte order of the HEPv2 time header: 'le' (default, what Kamailio sends) or 'be' (heplify-server) */
  timeByteOrder?: ByteOrder
  /** IPv4 texts parsed by an encoding session (a sender, a replay): each address is parsed once */
  addressBits?: Ipv4Bits
}
export interface DecodeOptions extends EncodeOptions {
  /** IPv4 texts kept by a decoding session (a listener, an input): each address is formatted once */
  addresses?: Ipv4Texts
}

/** 1, 2 or 3 from the first bytes at `offset`, or undefined if they are no HEP. */
export function detectVersion(buf: Uint8Array, offset = 0): 1 | 2 | 3 | undefined {
  const b = buf[offset]
  if (b === 0x48) {
    return buf[offset + 1] === 0x45 && buf[offset + 2] === 0x50 && buf[offset + 3] === 0x33 ? 3 : undefined
  }
  if (b === 1 || b === 2) return b
  return undefined
}

function badVersion(buf: Buffer, offset: number, end: number): never {
  if (offset >= end) throw new DecodeError('HEP_TRUNCATED', offset, 'version', 'no bytes')
  throw new DecodeError(
    'HEP_BAD_VERSION',
    offset,
    'version',
    `first byte 0x${buf[offset].toString(16).padStart(2, '0')} is neither 1, 2 nor "HEP3"`,
  )
}

interface DecodeFn {
  (buf: Buffer, offset?: number, end?: number, options?: DecodeOptions): HepPacket
  /** bytes consumed by the last call */
  bytes: number
}
interface EncodeFn {
  (packet: HepPacket, buf?: Buffer, offset?: number, options?: EncodeOptions): Buffer
  /** bytes written by the last call */
  bytes: number
}

/**
 * Decodes one packet at buf[offset]. A HEP3 packet ends at its total length; a HEP v1/v2 packet
 * (no length field) runs to `end` (default: the end of the buffer). Sets `decode.bytes`.
 */
export const decode: DecodeFn = Object.assign(
  (buf: Buffer, offset = 0, end = buf.length, options?: DecodeOptions): HepPacket => {
    // "H...": HEP3, whose decoder tells a bad magic or a short header apart
    const v = buf[offset] === 0x48 ? 3 : detectVersion(buf, offset)
    let p: HepPacket
    if (v === 3) {
      p = decodeV3(buf, offset, end, options?.addresses)
      decode.bytes = (buf[offset + 4] << 8) | buf[offset + 5]
    } else if (v === 1 || v === 2) {
      p = decodeV1V2(buf, offset, end, options?.timeByteOrder)
      decode.bytes = end - offset
    } else badVersion(buf, offset, end)
    return p
  },
  { bytes: 0 },
)

/**
 * Decodes a datagram that must hold exactly one packet: a HEP3 total length that disagrees with the
 * datagram's size is HEP_BAD_LENGTH (or HEP_TRUNCATED when the datagram is short).
 */
export function decodeDatagram(buf: Buffer, options?: DecodeOptions): HepPacket {
  const p = decode(buf, 0, buf.length, options)
  if (decode.bytes !== buf.length) {
    throw new DecodeError(
      'HEP_BAD_LENGTH',
      4,
      'total length',
      `${decode.bytes}, but the datagram holds ${buf.length} bytes`,
    )
  }
  return p
}

export function encodingLength(packet: HepPacket): number {
  switch (packet.version) {
    case 3:
      return encodingLengthV3(packet)
    case 1:
    case 2:
      return encodingLengthV1V2(packet)
    default:
      throw new HepError(
        'HEP_ENCODE',
        `version: ${JSON.stringify((packet as HepPacket).version)} is not 1, 2 or 3`,
      )
  }
}

/** Encodes into `buf` at `offset` (or a new buffer of exactly the right size). Sets `encode.bytes`. */
export const encode: EncodeFn = Object.assign(
  (packet: HepPacket, buf?: Buffer, offset = 0, options?: EncodeOptions): Buffer => {
    let r: { buffer: Buffer; length: number }
    switch (packet.version) {
      case 3:
        r = encodeV3(packet, buf, offset, options?.addressBits)
        break
      case 1:
      case 2:
        r = encodeV1V2(packet, buf, offset, options?.timeByteOrder)
        break
      default:
        throw new HepError(
          'HEP_ENCODE',
          `version: ${JSON.stringify((packet as HepPacket).version)} is not 1, 2 or 3`,
        )
    }
    encode.bytes = r.length
    return r.buffer
  },
  { bytes: 0 },
)

/** A codec trio for one version (dns-packet style). */
export interface HepCodec {
  version: 1 | 2 | 3
  decode(buf: Buffer, offset?: number, end?: number, options?: DecodeOptions): HepPacket
  encode(packet: HepPacket, buf?: Buffer, offset?: number, options?: EncodeOptions): Buffer
  encodingLength(packet: HepPacket): number
}

function trio(version: 1 | 2 | 3): HepCodec {
  return {
    version,
    decode(buf, offset = 0, end = buf.length, options) {
      const v = buf[offset] === 0x48 ? 3 : detectVersion(buf, offset)
      if (v !== version) {
        if (v === undefined) badVersion(buf, offset, end)
        throw new DecodeError('HEP_BAD_VERSION', offset, 'version', `HEPv${v}, expected HEPv${version}`)
      }
      return decode(buf, offset, end, options)
    },
    encode(packet, buf, offset = 0, options) {
      return encode({ ...packet, version }, buf, offset, options)
    },
    encodingLength(packet) {
      return encodingLength({ ...packet, version })
    },
  }
}

export const hep1 = trio(1)
export const hep2 = trio(2)
export const hep3 = trio(3)
