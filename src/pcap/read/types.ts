/**
 * The capture reader's vocabulary: what it hands out and how it is configured, what the chunk machine
 * (parser.ts) needs of a format's record layer (pcap.ts, pcapng.ts), and the byte reads they share.
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
  /** how truncation messages call a unit: "the file ends N bytes into a record" */
  readonly unitName: 'a record' | 'a block'
  /**
   * Bytes the unit at b[p] needs: the header size when fewer than a header's bytes are available, else
   * the whole unit's size. Throws a CaptureError for lengths out of bounds.
   */
  size(b: Buffer, p: number, avail: number, st: ParseState): number
  /** Parses the complete units in b[p..end) into `out`; returns where the first incomplete one starts. */
  run(b: Buffer, p: number, end: number, st: ParseState, out: CaptureRecord[]): number
}

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
