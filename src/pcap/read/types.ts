/** What the capture reader hands out and how it is configured. */

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
