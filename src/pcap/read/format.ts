/**
 * What every part of the capture reader shares: what it hands out and how it is configured, the formats'
 * magic numbers and the one detection of a file's kind from its first bytes (also used by input/input.ts),
 * what the chunk machine (parser.ts) needs of a format's record layer (pcap.ts, pcapng.ts), and the byte
 * reads they all use.
 */
import type { CaptureError, HepErrorCode } from '../../errors.js'

export interface CaptureRecord {
  /** 1-based record number across the whole file (as Wireshark numbers frames) */
  index: number
  /** byte offset of the record (its header / block start) in the decompressed stream */
  offset: number
  /** LINKTYPE_* of the record's interface */
  linkType: number
  /** interface id within its pcapng section; 0 for pcap */
  interfaceId: number
  /** timestamp: integer seconds since the epoch (UTC), if_tsoffset applied */
  seconds: number
  /** fractional part of the timestamp in nanoseconds, 0..999_999_999 */
  nanos: number
  originalLength: number
  /** captured bytes: a view into the read buffer when the record lies within one read chunk */
  data: Buffer
  /** data.length < originalLength (snaplen cut the packet) */
  truncated: boolean
}

export interface CaptureInfo {
  format: 'pcap' | 'pcapng'
  /** byte order of the file (pcapng: of the first section) */
  byteOrder: 'le' | 'be'
  /** 'us', 'ns', or for pcapng the first interface's resolution: 'ms', 'us', 'ns', '10^-N', '2^-N' */
  precision: 'us' | 'ns' | string
  compressed: boolean
  /** link types seen so far (pcap: the one from the header; pcapng: grows as interfaces are described) */
  linkTypes: number[]
  /** pcapng: the latest interface statistics block of each interface, when the capture has any */
  interfaceStats?: InterfaceStats[]
}

/** The counters of a pcapng interface statistics block (those it carries). */
export interface InterfaceStats {
  /** interface id within its section */
  interfaceId: number
  /** the interface's if_name */
  name?: string
  /** isb_ifrecv: packets the interface received */
  received?: number
  /** isb_ifdrop: dropped by the interface or the kernel for lack of buffer (libpcap's ps_drop) */
  ifDropped?: number
  /** isb_osdrop: dropped by the operating system (libpcap's ps_ifdrop) */
  osDropped?: number
  /** isb_usrdeliv: delivered to the capturing program */
  delivered?: number
}

export interface ReadOptions {
  /** size of each read (and of each gzip output chunk); default 256 KiB */
  readSize?: number
  /** largest captured length accepted for one record; default 262144 (as Wireshark) */
  maxRecordLength?: number
}

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW_LEGACY_12: 12,
  RAW_LEGACY_14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const

export const DEFAULT_READ_SIZE = 256 * 1024
export const DEFAULT_MAX_RECORD_LENGTH = 262144

// ---------------------------------------------------------------- what a file is, from its first bytes

export const PCAPNG_SHB = 0x0a0d0d0a
/** pcapng byte-order magic */
export const BOM = 0x1a2b3c4d

/** Header and record-header sizes per pcap magic (read in the file's byte order). */
export function pcapMagic(m: number): { ns: boolean; recordHeader: number } | undefined {
  switch (m) {
    case 0xa1b2c3d4:
      return { ns: false, recordHeader: 16 }
    case 0xa1b23c4d:
      return { ns: true, recordHeader: 16 }
    case 0xa1b2cd34: // "modified" (Kuznetzov) pcap: ifindex, protocol, pkt_type, pad after the usual header
      return { ns: false, recordHeader: 24 }
    default:
      return undefined
  }
}

/**
 * What the bytes at b[p] start: a pcap, a pcapng, a gzip stream, or none of those (undefined also when
 * fewer than the 4 bytes of a magic are there and they are not gzip's two). The one test of these magics:
 * the parser's first stage and input/input.ts both ask it.
 */
export function isCaptureMagic(b: Buffer, p = 0): 'pcap' | 'pcapng' | 'gzip' | undefined {
  const avail = b.length - p
  if (avail >= 2 && b[p] === 0x1f && b[p + 1] === 0x8b) return 'gzip'
  if (avail < 4) return undefined
  const le = u32le(b, p)
  if (le === PCAPNG_SHB) return 'pcapng'
  if (pcapMagic(le) !== undefined || pcapMagic(u32be(b, p)) !== undefined) return 'pcap'
  return undefined
}

/** A human description of bytes that are not a capture, for CAPTURE_FORMAT messages. */
export function describeBytes(b: Buffer): string {
  if (b.length === 0) return 'the input is empty'
  const head = b.subarray(0, 16)
  const hex = [...head].map((x) => x.toString(16).padStart(2, '0')).join(' ')
  const ascii = [...head].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('')
  let guess = ''
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd)
    guess = ' (zstd-compressed: decompress it first)'
  else if (head.subarray(0, 3).toString('latin1') === 'BZh')
    guess = ' (bzip2-compressed: decompress it first)'
  else if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])))
    guess = ' (xz-compressed: decompress it first)'
  else if (head.subarray(0, 4).toString('latin1') === 'PK\x03\x04') guess = ' (a zip archive)'
  else if (head.subarray(0, 4).toString('latin1') === 'HEP3')
    guess = ' (raw HEP3 packets, not a capture file)'
  else if (head.every((x) => x === 9 || x === 10 || x === 13 || (x >= 0x20 && x < 0x7f))) guess = ' (text)'
  return `first bytes ${hex} "${ascii}"${guess}`
}

// ---------------------------------------------------------------- the record layer of a format

/** The parser's position, shared with the layer that parses the records. */
export interface ParseState {
  /** stream offset of byte 0 of the buffer being parsed */
  base: number
  /** records handed out so far (the last one's index) */
  count: number
  readonly maxRecord: number
  /** an error about the record after the last one counted, at a stream offset */
  fail(code: HepErrorCode, offset: number, detail: string): CaptureError
}

export interface RecordLayer {
  /** the file's details, once its file header (pcap) or first section header (pcapng) is read */
  readonly info: CaptureInfo | undefined
  /** how a truncation message names the unit at the end: "the file ends N bytes into a record of 60 bytes" */
  unitName(need: number, have: number): string
  /**
   * Bytes the unit at b[p] needs: the header size when fewer than a header's bytes are available, else
   * the whole unit's size. Throws a CaptureError for lengths out of bounds.
   */
  size(b: Buffer, p: number, avail: number, st: ParseState): number
  /** Parses the complete units in b[p..end) into `out`; returns where the first incomplete one starts. */
  run(b: Buffer, p: number, end: number, st: ParseState, out: CaptureRecord[]): number
}

/** "a record", or "a record of 60 bytes" when more bytes than there are were needed */
export const unitOf = (name: string, need: number, have: number): string =>
  need > have ? `${name} of ${need} bytes` : name

// ---------------------------------------------------------------- byte reads

/** Unsigned reads without bounds checks or allocation (the hot loops call these per field). */

export function u32le(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000
}

export function u32be(b: Uint8Array, p: number): number {
  return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])
}

export function u32(b: Uint8Array, p: number, le: boolean): number {
  return le ? u32le(b, p) : u32be(b, p)
}

export function u16(b: Uint8Array, p: number, le: boolean): number {
  return le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1]
}
