/**
 * Streaming pcap / pcapng reader: classic pcap (µs and ns, both byte orders, the modified "Kuznetzov" variant),
 * pcapng (several sections of either byte order, per-interface link type, if_tsresol and if_tsoffset, EPB, SPB and
 * the obsolete PB; every other block is skipped) and gzip-compressed input of either.
 *
 * Built for throughput and bounded memory: the input is read in large chunks (default 256 KiB), consumer-paced,
 * and a record that lies within one chunk is handed out as a view into that chunk (no copy). Only a record that
 * straddles two chunks is assembled into a fresh buffer. Buffers handed out are never written again.
 *
 * Malformed input is reported as a CaptureError, thrown from the iterator after every good record before it.
 */
import { open as openFile, type FileHandle } from 'node:fs/promises'
import { pipeline, type Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { CaptureError, type HepErrorCode } from '../errors.js'
import { stdinStream } from '../io/input.js'

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
/** pcapng blocks other than packet blocks (SHB, IDB, NRB, ISB, DSB, custom...) are accepted up to this size */
const MAX_OTHER_BLOCK = 16 * 1024 * 1024
/** room a packet block may have beyond its packet data (header, padding, options), as Wireshark allows */
const PACKET_BLOCK_SLACK = 131072

const PCAPNG_SHB = 0x0a0d0d0a
const BOM = 0x1a2b3c4d

/** What the first bytes of a file are: a pcap, a pcapng, a gzip stream, or none of those. */
export function isCaptureMagic(firstBytes: Buffer): 'pcap' | 'pcapng' | 'gzip' | undefined {
  if (firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b) return 'gzip'
  if (firstBytes.length < 4) return undefined
  const le = firstBytes.readUInt32LE(0)
  if (le === PCAPNG_SHB) return 'pcapng'
  if (pcapMagic(le) !== undefined || pcapMagic(firstBytes.readUInt32BE(0)) !== undefined) return 'pcap'
  return undefined
}

/** Header and record-header sizes per pcap magic (read in the file's byte order). */
function pcapMagic(m: number): { ns: boolean; recordHeader: number } | undefined {
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

/** A human description of bytes that are not a capture, for CAPTURE_FORMAT messages. */
function describeBytes(b: Buffer): string {
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

interface Iface {
  linkType: number
  snaplen: number
  /** timestamp units per second */
  units: number
  /** nanos = frac * nsMul / nsDiv when exact in a double */
  nsMul: number
  nsDiv: number
  /** seconds added to every timestamp (if_tsoffset) */
  tsOffset: number
}

const enum Mode {
  Magic,
  PcapHeader,
  Pcap,
  Pcapng,
}

const TWO32 = 4294967296

function u32le(b: Buffer, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000
}

function u32be(b: Buffer, p: number): number {
  return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])
}

/**
 * Split a 64-bit timestamp (hi:lo, in 1/units seconds) into seconds and nanoseconds exactly.
 * Returns the seconds; the nanoseconds are left in `tsNanos` (module-level to avoid an allocation per record).
 */
let tsNanos = 0
function splitTimestamp(hi: number, lo: number, ifc: Iface): number {
  const u = ifc.units
  if (u === 1e6) {
    // hi * 2^32 + lo < 2^53 for any date before the year 2255 in µs
    if (hi < 0x200000) {
      const v = hi * TWO32 + lo
      const s = Math.floor(v / 1e6)
      tsNanos = (v - s * 1e6) * 1000
      return s
    }
  }
  if (u <= 0x2000000000) {
    // long division by 16-bit limbs: every intermediate stays below 2^53
    const qh = Math.floor(hi / u)
    let r = hi - qh * u
    let cur = r * 65536 + (lo >>> 16)
    const qm = Math.floor(cur / u)
    r = cur - qm * u
    cur = r * 65536 + (lo & 0xffff)
    const ql = Math.floor(cur / u)
    r = cur - ql * u
    const f = r * ifc.nsMul
    tsNanos =
      f <= Number.MAX_SAFE_INTEGER
        ? Math.floor(f / ifc.nsDiv)
        : Number((BigInt(r) * 1_000_000_000n) / BigInt(u))
    return qh * TWO32 + qm * 65536 + ql
  }
  const v = (BigInt(hi) << 32n) | BigInt(lo)
  const bu = BigInt(u)
  tsNanos = Number(((v % bu) * 1_000_000_000n) / bu)
  return Number(v / bu)
}

/** Units per second and a display name for an if_tsresol byte. */
function tsresol(v: number): { units: number; name: string } | undefined {
  if (v & 0x80) {
    const e = v & 0x7f
    if (e > 63) return undefined
    return { units: 2 ** e, name: `2^-${e}` }
  }
  if (v > 19) return undefined
  const name = v === 3 ? 'ms' : v === 6 ? 'us' : v === 9 ? 'ns' : v === 0 ? 's' : `10^-${v}`
  return { units: 10 ** v, name }
}

function makeIface(linkType: number, snaplen: number, units: number, tsOffset: number): Iface {
  let nsMul = 1e9
  let nsDiv = units
  // exact integer scaling for powers of ten
  if (units <= 1e9 && 1e9 % units === 0) {
    nsMul = 1e9 / units
    nsDiv = 1
  } else if (units > 1e9 && Number.isSafeInteger(units) && units % 1e9 === 0) {
    nsMul = 1
    nsDiv = units / 1e9
  }
  return { linkType, snaplen, units, nsMul, nsDiv, tsOffset }
}

/**
 * The parsing state machine, fed chunk by chunk. Kept separate from the stream plumbing so that it can be
 * driven synchronously (and tested) on any sequence of buffers.
 */
export class CaptureParser {
  info: CaptureInfo | undefined
  /** records produced so far */
  count = 0
  /** bytes fed so far */
  bytesFed = 0

  private readonly maxRecord: number
  private readonly compressed: boolean
  private mode: Mode = Mode.Magic
  /** stream offset of the next unread byte of the current chunk's start */
  private base = 0
  /** bytes of an incomplete unit carried over from previous chunks (a fresh buffer, owned by us) */
  private pending: Buffer | undefined
  private pendingLen = 0
  private pendingStart = 0
  private error: CaptureError | undefined

  // pcap
  private le = true
  private ns = false
  private recordHeader = 16
  private linkType = 0
  private snaplen = 0
  // pcapng
  private ifaces: Iface[] = []
  private sectionCount = 0

  constructor(options: { maxRecordLength?: number; compressed?: boolean } = {}) {
    this.maxRecord = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH
    this.compressed = options.compressed ?? false
  }

  /** The error that stopped parsing, if any: throw it after handing out the records of the last push. */
  get failed(): CaptureError | undefined {
    return this.error
  }

  /**
   * Parse one chunk; return the records completed by it, in order. After an error, the records before the error
   * are returned and `failed` is set; further pushes return nothing.
   */
  push(chunk: Buffer): CaptureRecord[] {
    const out: CaptureRecord[] = []
    if (this.error) return out
    const chunkBase = this.bytesFed
    this.bytesFed += chunk.length
    let p = 0
    const end = chunk.length
    try {
      if (this.pending) {
        p = this.fillPending(chunk, out)
        if (this.pending) return out
      }
      this.base = chunkBase
      p = this.run(chunk, p, end, out)
      if (p < end) {
        // keep the incomplete tail: copy it into a buffer sized for the whole unit when known
        const avail = end - p
        const need = this.size(chunk, p, avail)
        this.startPending(chunk, p, avail, need, chunkBase + p)
      }
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e
      this.error = e
      this.pending = undefined
    }
    return out
  }

  /**
   * The input ended: throw CAPTURE_TRUNCATED if it ended inside a record, CAPTURE_FORMAT if it was empty.
   * (A pcap with only its header, or a pcapng with no packet, is fine.)
   */
  end(): void {
    if (this.error) throw this.error
    if (this.mode === Mode.Magic && !this.pending) {
      this.error = new CaptureError(
        'CAPTURE_FORMAT',
        1,
        0,
        `not a capture file: ${describeBytes(Buffer.alloc(0))}`,
      )
      throw this.error
    }
    if (this.pending) {
      const have = this.pendingLen
      const start = this.pendingStart
      const buf = this.pending.subarray(0, have)
      let what: string
      if (this.mode === Mode.Magic) {
        this.error = new CaptureError('CAPTURE_FORMAT', 1, 0, `not a capture file: ${describeBytes(buf)}`)
        throw this.error
      } else if (this.mode === Mode.PcapHeader) {
        what = 'the 24-byte file header'
      } else {
        let need = 0
        try {
          need = this.size(buf, 0, have)
        } catch {
          need = 0
        }
        what = this.mode === Mode.Pcap ? 'a record' : 'a block'
        if (need > have) what += ` of ${need} bytes`
      }
      this.error = new CaptureError(
        'CAPTURE_TRUNCATED',
        this.count + 1,
        start,
        `the file ends ${have} byte${have === 1 ? '' : 's'} into ${what}`,
      )
      this.pending = undefined
      throw this.error
    }
  }

  /** Stream offset where the next (incomplete) record starts. */
  get resumeOffset(): number {
    return this.pending ? this.pendingStart : this.bytesFed
  }

  private startPending(chunk: Buffer, p: number, avail: number, need: number, start: number): void {
    const cap = Math.max(need, avail, 32)
    const buf = Buffer.allocUnsafe(cap)
    chunk.copy(buf, 0, p, p + avail)
    this.pending = buf
    this.pendingLen = avail
    this.pendingStart = start
  }

  /** Complete the pending unit from the start of `chunk`; return the position after the bytes taken. */
  private fillPending(chunk: Buffer, out: CaptureRecord[]): number {
    let p = 0
    const end = chunk.length
    for (;;) {
      let buf = this.pending as Buffer
      const have = this.pendingLen
      // offsets of units in the pending buffer are relative to its start
      this.base = this.pendingStart
      const need = this.size(buf, 0, have)
      if (need <= have) {
        // a whole unit: parse it from the pending buffer (ours, fresh: records may keep views of it)
        this.pending = undefined
        const used = this.unit(buf, 0, need, out)
        if (used < have) {
          // the unit (magic detection, say) consumed less than we had: continue with the rest as a new unit
          const rest = have - used
          const next = this.size(buf, used, rest)
          if (next <= rest) {
            // enough for complete units: run over the pending buffer (views into it are fine)
            const q = this.run(buf, used, have, out)
            if (q < have) this.startPending(buf, q, have - q, this.size(buf, q, have - q), this.base + q)
          } else {
            this.startPending(buf, used, rest, next, this.pendingStart + used)
          }
          if (!this.pending) return p
          continue
        }
        return p
      }
      if (p >= end) return p
      const take = Math.min(need - have, end - p)
      if (buf.length < have + take) {
        const bigger = Buffer.allocUnsafe(Math.max(need, have + take))
        buf.copy(bigger, 0, 0, have)
        buf = bigger
        this.pending = buf
      }
      chunk.copy(buf, have, p, p + take)
      this.pendingLen = have + take
      p += take
    }
  }

  /**
   * Bytes the unit at b[p] needs: the header size when fewer than a header's bytes are available, else the
   * whole unit's size. Throws CaptureError for lengths out of bounds.
   */
  private size(b: Buffer, p: number, avail: number): number {
    switch (this.mode) {
      case Mode.Magic:
        return 4
      case Mode.PcapHeader:
        return 24
      case Mode.Pcap: {
        const h = this.recordHeader
        if (avail < h) return h
        const caplen = this.le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8)
        if (caplen > this.maxRecord) {
          throw this.fail(
            'CAPTURE_RECORD_LENGTH',
            this.base + p,
            `captured length ${caplen} is larger than the maximum of ${this.maxRecord} (snaplen ${this.snaplen})`,
          )
        }
        return h + caplen
      }
      case Mode.Pcapng:
        return this.blockSize(b, p, avail)
    }
  }

  private fail(code: HepErrorCode, offset: number, detail: string): CaptureError {
    return new CaptureError(code, this.count + 1, offset, detail)
  }

  /** Parse complete units from b[p..end); return where the first incomplete unit starts. */
  private run(b: Buffer, p: number, end: number, out: CaptureRecord[]): number {
    if (this.mode === Mode.Pcap) return this.runPcap(b, p, end, out)
    if (this.mode === Mode.Pcapng) return this.runPcapng(b, p, end, out)
    while (p < end) {
      const avail = end - p
      const need = this.size(b, p, avail)
      if (need > avail) break
      p += this.unit(b, p, need, out)
    }
    return p
  }

  /** The hot loop for classic pcap. */
  private runPcap(b: Buffer, p: number, end: number, out: CaptureRecord[]): number {
    const h = this.recordHeader
    const le = this.le
    const max = this.maxRecord
    const ns = this.ns
    const linkType = this.linkType
    const base = this.base
    let index = this.count
    while (end - p >= h) {
      let sec: number, frac: number, caplen: number, len: number
      if (le) {
        sec = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | ((b[p + 3] << 24) >>> 0)
        frac = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0
        caplen = (b[p + 8] | (b[p + 9] << 8) | (b[p + 10] << 16) | (b[p + 11] << 24)) >>> 0
        len = (b[p + 12] | (b[p + 13] << 8) | (b[p + 14] << 16) | (b[p + 15] << 24)) >>> 0
      } else {
        sec = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0
        frac = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0
        caplen = ((b[p + 8] << 24) | (b[p + 9] << 16) | (b[p + 10] << 8) | b[p + 11]) >>> 0
        len = ((b[p + 12] << 24) | (b[p + 13] << 16) | (b[p + 14] << 8) | b[p + 15]) >>> 0
      }
      sec >>>= 0
      if (caplen > max) {
        this.count = index
        throw this.fail(
          'CAPTURE_RECORD_LENGTH',
          base + p,
          `captured length ${caplen} is larger than the maximum of ${max} (snaplen ${this.snaplen})`,
        )
      }
      const n = h + caplen
      if (n > end - p) break
      let nanos = ns ? frac : frac * 1000
      if (nanos > 999_999_999) {
        const carry = Math.floor(nanos / 1e9)
        sec += carry
        nanos -= carry * 1e9
      }
      out.push({
        index: ++index,
        offset: base + p,
        linkType,
        interfaceId: 0,
        seconds: sec,
        nanos,
        originalLength: len,
        data: b.subarray(p + h, p + n),
        truncated: caplen < len,
      })
      p += n
    }
    this.count = index
    return p
  }

  /** The hot loop for pcapng: well-formed EPBs inline, every other block (and any doubt) through block(). */
  private runPcapng(b: Buffer, p: number, end: number, out: CaptureRecord[]): number {
    const maxBlock = this.maxRecord + PACKET_BLOCK_SLACK
    const max = this.maxRecord
    const base = this.base
    while (end - p >= 12) {
      const le = this.le
      const type = le ? u32le(b, p) : u32be(b, p)
      const total = le ? u32le(b, p + 4) : u32be(b, p + 4)
      if (type === 6 && total >= 32 && total <= maxBlock && (total & 3) === 0) {
        if (total > end - p) break
        const ifaces = this.ifaces
        const id = le ? u32le(b, p + 8) : u32be(b, p + 8)
        const caplen = le ? u32le(b, p + 20) : u32be(b, p + 20)
        const trailer = le ? u32le(b, p + total - 4) : u32be(b, p + total - 4)
        if (id < ifaces.length && caplen <= total - 32 && caplen <= max && trailer === total) {
          const ifc = ifaces[id]
          const hi = le ? u32le(b, p + 12) : u32be(b, p + 12)
          const lo = le ? u32le(b, p + 16) : u32be(b, p + 16)
          const len = le ? u32le(b, p + 24) : u32be(b, p + 24)
          let seconds = splitTimestamp(hi, lo, ifc) + ifc.tsOffset
          let nanos = tsNanos
          if (nanos > 999_999_999) {
            seconds += Math.floor(nanos / 1e9)
            nanos %= 1e9
          }
          out.push({
            index: ++this.count,
            offset: base + p,
            linkType: ifc.linkType,
            interfaceId: id,
            seconds,
            nanos,
            originalLength: len,
            data: b.subarray(p + 28, p + 28 + caplen),
            truncated: caplen < len,
          })
          p += total
          continue
        }
      }
      // anything else, including a malformed EPB (which block() reports precisely)
      const need = this.blockSize(b, p, end - p)
      if (need > end - p) break
      this.block(b, p, need, out)
      p += need
    }
    return p
  }

  /** Parse one complete unit of n bytes at b[p]; return the bytes consumed (n, or less for the magic probe). */
  private unit(b: Buffer, p: number, n: number, out: CaptureRecord[]): number {
    switch (this.mode) {
      case Mode.Magic:
        return this.magic(b, p, n)
      case Mode.PcapHeader:
        this.pcapHeader(b, p)
        return 24
      case Mode.Pcap:
        this.runPcap(b, p, p + n, out)
        return n
      case Mode.Pcapng:
        this.block(b, p, n, out)
        return n
    }
  }

  private magic(b: Buffer, p: number, n: number): number {
    const le = b.readUInt32LE(p)
    if (le === PCAPNG_SHB) {
      this.mode = Mode.Pcapng
      return 0
    }
    if (pcapMagic(le) !== undefined || pcapMagic(b.readUInt32BE(p)) !== undefined) {
      this.mode = Mode.PcapHeader
      return 0
    }
    void n
    const detail =
      b[p] === 0x1f && b[p + 1] === 0x8b ? 'gzip data inside gzip data' : describeBytes(b.subarray(p))
    throw this.fail('CAPTURE_FORMAT', this.base + p, `not a pcap or pcapng file: ${detail}`)
  }

  private pcapHeader(b: Buffer, p: number): void {
    let m = pcapMagic(b.readUInt32LE(p))
    let le = true
    if (m === undefined) {
      m = pcapMagic(b.readUInt32BE(p)) as { ns: boolean; recordHeader: number }
      le = false
    }
    const major = le ? b.readUInt16LE(p + 4) : b.readUInt16BE(p + 4)
    const minor = le ? b.readUInt16LE(p + 6) : b.readUInt16BE(p + 6)
    if (major !== 2) {
      throw this.fail('CAPTURE_FORMAT', this.base + p, `unsupported pcap version ${major}.${minor}`)
    }
    this.le = le
    this.ns = m.ns
    this.recordHeader = m.recordHeader
    this.snaplen = le ? b.readUInt32LE(p + 16) : b.readUInt32BE(p + 16)
    // the upper bits of the link-type field carry the FCS length and flags
    this.linkType = (le ? b.readUInt32LE(p + 20) : b.readUInt32BE(p + 20)) & 0x03ffffff
    this.info = {
      format: 'pcap',
      byteOrder: le ? 'le' : 'be',
      precision: m.ns ? 'ns' : 'us',
      compressed: this.compressed,
      linkTypes: [this.linkType],
    }
    this.mode = Mode.Pcap
  }

  // ---- pcapng ----

  private blockSize(b: Buffer, p: number, avail: number): number {
    if (avail < 12) return 12
    const type = this.le ? b.readUInt32LE(p) : b.readUInt32BE(p)
    let le = this.le
    if (type === PCAPNG_SHB) {
      // a new section: its byte order comes from its own byte-order magic
      const bomLe = b.readUInt32LE(p + 8)
      if (bomLe === BOM) le = true
      else if (b.readUInt32BE(p + 8) === BOM) le = false
      else {
        const first = this.sectionCount === 0
        throw this.fail(
          first ? 'CAPTURE_FORMAT' : 'CAPTURE_BLOCK',
          this.base + p,
          `section header block with a bad byte-order magic 0x${bomLe.toString(16).padStart(8, '0')}`,
        )
      }
    }
    const total = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4)
    const isPacket = type === 6 || type === 3 || type === 2
    const max = isPacket ? this.maxRecord + PACKET_BLOCK_SLACK : MAX_OTHER_BLOCK
    if (total < 12 || total % 4 !== 0 || total > max || (type === PCAPNG_SHB && total < 28)) {
      throw this.fail(
        'CAPTURE_RECORD_LENGTH',
        this.base + p,
        `block type 0x${type.toString(16)} has an impossible total length ${total}` +
          (total > max ? ` (maximum ${max})` : total % 4 !== 0 ? ' (not a multiple of 4)' : ''),
      )
    }
    return total
  }

  private block(b: Buffer, p: number, n: number, out: CaptureRecord[]): void {
    const le = this.le
    const type = le ? b.readUInt32LE(p) : b.readUInt32BE(p)
    if (type === PCAPNG_SHB) return this.shb(b, p, n)
    if (this.sectionCount === 0) {
      throw this.fail('CAPTURE_BLOCK', this.base + p, 'block before the section header')
    }
    const trailer = le ? b.readUInt32LE(p + n - 4) : b.readUInt32BE(p + n - 4)
    if (trailer !== n) {
      throw this.fail(
        'CAPTURE_BLOCK',
        this.base + p,
        `block type 0x${type.toString(16)}: total length ${n} at the start but ${trailer} at the end`,
      )
    }
    switch (type) {
      case 6:
        return this.epb(b, p, n, out, false)
      case 2:
        return this.epb(b, p, n, out, true)
      case 3:
        return this.spb(b, p, n, out)
      case 1:
        return this.idb(b, p, n)
      default:
        return // NRB, ISB, DSB, custom and unknown blocks: skipped
    }
  }

  private shb(b: Buffer, p: number, n: number): void {
    const le = b.readUInt32LE(p + 8) === BOM
    const trailer = le ? b.readUInt32LE(p + n - 4) : b.readUInt32BE(p + n - 4)
    const first = this.sectionCount === 0
    if (trailer !== n) {
      throw this.fail(
        first ? 'CAPTURE_FORMAT' : 'CAPTURE_BLOCK',
        this.base + p,
        `section header block: total length ${n} at the start but ${trailer} at the end`,
      )
    }
    const major = le ? b.readUInt16LE(p + 12) : b.readUInt16BE(p + 12)
    const minor = le ? b.readUInt16LE(p + 14) : b.readUInt16BE(p + 14)
    if (major !== 1) {
      throw this.fail(
        first ? 'CAPTURE_FORMAT' : 'CAPTURE_BLOCK',
        this.base + p,
        `unsupported pcapng version ${major}.${minor}`,
      )
    }
    this.le = le
    this.ifaces = []
    this.sectionCount++
    if (first) {
      this.info = {
        format: 'pcapng',
        byteOrder: le ? 'le' : 'be',
        precision: 'us',
        compressed: this.compressed,
        linkTypes: [],
      }
    }
  }

  private idb(b: Buffer, p: number, n: number): void {
    const le = this.le
    if (n < 20) throw this.fail('CAPTURE_BLOCK', this.base + p, `interface description block of ${n} bytes`)
    const linkType = le ? b.readUInt16LE(p + 8) : b.readUInt16BE(p + 8)
    const snaplen = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12)
    let units = 1e6
    let name = 'us'
    let tsOffset = 0
    // options: code(2) length(2) value, padded to 4
    let o = p + 16
    const optEnd = p + n - 4
    while (o + 4 <= optEnd) {
      const code = le ? b.readUInt16LE(o) : b.readUInt16BE(o)
      const len = le ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2)
      if (code === 0) break
      const v = o + 4
      if (v + len > optEnd) {
        throw this.fail(
          'CAPTURE_BLOCK',
          this.base + p,
          `interface description block: option ${code} overruns the block`,
        )
      }
      if (code === 9 && len >= 1) {
        const r = tsresol(b[v])
        if (!r) {
          throw this.fail(
            'CAPTURE_BLOCK',
            this.base + p,
            `interface description block: bad if_tsresol 0x${b[v].toString(16)}`,
          )
        }
        units = r.units
        name = r.name
      } else if (code === 14 && len >= 8) {
        const hi = le ? b.readInt32LE(v + 4) : b.readInt32BE(v)
        const lo = le ? b.readUInt32LE(v) : b.readUInt32BE(v + 4)
        tsOffset = hi * TWO32 + lo
      }
      o = v + ((len + 3) & ~3)
    }
    if (this.ifaces.length === 0 && this.sectionCount === 1 && this.info) this.info.precision = name
    this.ifaces.push(makeIface(linkType, snaplen, units, tsOffset))
    if (this.info && !this.info.linkTypes.includes(linkType)) this.info.linkTypes.push(linkType)
  }

  private epb(b: Buffer, p: number, n: number, out: CaptureRecord[], obsolete: boolean): void {
    const le = this.le
    const what = obsolete ? 'packet block' : 'enhanced packet block'
    if (n < 32) throw this.fail('CAPTURE_BLOCK', this.base + p, `${what} of ${n} bytes`)
    const id = obsolete
      ? le
        ? b.readUInt16LE(p + 8)
        : b.readUInt16BE(p + 8)
      : le
        ? b.readUInt32LE(p + 8)
        : b.readUInt32BE(p + 8)
    const ifc = this.ifaces[id]
    if (ifc === undefined) {
      throw this.fail(
        'CAPTURE_BLOCK',
        this.base + p,
        `${what} names interface ${id}, but the section describes ${this.ifaces.length} interface${this.ifaces.length === 1 ? '' : 's'}`,
      )
    }
    const hi = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12)
    const lo = le ? b.readUInt32LE(p + 16) : b.readUInt32BE(p + 16)
    const caplen = le ? b.readUInt32LE(p + 20) : b.readUInt32BE(p + 20)
    const len = le ? b.readUInt32LE(p + 24) : b.readUInt32BE(p + 24)
    if (caplen > n - 32) {
      throw this.fail(
        'CAPTURE_BLOCK',
        this.base + p,
        `${what}: captured length ${caplen} overruns the ${n}-byte block`,
      )
    }
    if (caplen > this.maxRecord) {
      throw this.fail(
        'CAPTURE_RECORD_LENGTH',
        this.base + p,
        `captured length ${caplen} is larger than the maximum of ${this.maxRecord}`,
      )
    }
    let seconds = splitTimestamp(hi, lo, ifc) + ifc.tsOffset
    let nanos = tsNanos
    if (nanos > 999_999_999) {
      seconds += Math.floor(nanos / 1e9)
      nanos %= 1e9
    }
    out.push({
      index: ++this.count,
      offset: this.base + p,
      linkType: ifc.linkType,
      interfaceId: id,
      seconds,
      nanos,
      originalLength: len,
      data: b.subarray(p + 28, p + 28 + caplen),
      truncated: caplen < len,
    })
  }

  private spb(b: Buffer, p: number, n: number, out: CaptureRecord[]): void {
    const le = this.le
    if (n < 16) throw this.fail('CAPTURE_BLOCK', this.base + p, `simple packet block of ${n} bytes`)
    const ifc = this.ifaces[0]
    if (ifc === undefined) {
      throw this.fail('CAPTURE_BLOCK', this.base + p, 'simple packet block in a section without an interface')
    }
    const len = le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8)
    let caplen = Math.min(len, n - 16)
    if (ifc.snaplen > 0 && caplen > ifc.snaplen) caplen = ifc.snaplen
    if (caplen > this.maxRecord) {
      throw this.fail(
        'CAPTURE_RECORD_LENGTH',
        this.base + p,
        `captured length ${caplen} is larger than the maximum of ${this.maxRecord}`,
      )
    }
    out.push({
      index: ++this.count,
      offset: this.base + p,
      linkType: ifc.linkType,
      interfaceId: 0,
      seconds: 0,
      nanos: 0,
      originalLength: len,
      data: b.subarray(p + 12, p + 12 + caplen),
      truncated: caplen < len,
    })
  }
}

/**
 * Chunks of a regular file, read with positional reads into fresh buffers, the next read always in flight while
 * the consumer works on the current chunk (at most one chunk read ahead).
 */
async function* readChunks(fh: FileHandle, size: number): AsyncGenerator<Buffer> {
  let pos = 0
  let next: Promise<{ bytesRead: number; buffer: Buffer }> | undefined
  const read = (): Promise<{ bytesRead: number; buffer: Buffer }> => {
    const p = fh.read(Buffer.allocUnsafeSlow(size), 0, size, pos)
    p.catch(() => undefined) // observed when awaited; never an unhandled rejection meanwhile
    return p
  }
  try {
    next = read()
    for (;;) {
      const r = await next
      next = undefined
      if (r.bytesRead === 0) return
      pos += r.bytesRead
      next = read()
      yield r.bytesRead < size ? r.buffer.subarray(0, r.bytesRead) : r.buffer
    }
  } finally {
    if (next) await next.catch(() => undefined)
    await fh.close()
  }
}

/** Chunks from foreign streams may be strings or plain Uint8Arrays. */
function toBuffer(c: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(c)) return c
  return typeof c === 'string' ? Buffer.from(c, 'latin1') : Buffer.from(c.buffer, c.byteOffset, c.byteLength)
}

function isGzipError(e: unknown): e is NodeJS.ErrnoException {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' && code.startsWith('Z_')
}

/**
 * Reads a pcap or pcapng file (optionally gzip-compressed) from a path, '-' (stdin) or any Readable.
 *
 *   for await (const batch of new CaptureReader(path).batches()) for (const rec of batch) ...
 *   for await (const rec of new CaptureReader(path)) ...
 *
 * One reader reads its source once.
 */
export class CaptureReader {
  private readonly source: string | NodeJS.ReadableStream
  private readonly readSize: number
  private readonly maxRecordLength: number
  private parser: CaptureParser | undefined
  private started = false

  constructor(source: string | NodeJS.ReadableStream, options: ReadOptions = {}) {
    this.source = source
    this.readSize = Math.max(1, Math.floor(options.readSize ?? DEFAULT_READ_SIZE))
    this.maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH
  }

  /** File format details, known once the file header has been read. */
  get info(): CaptureInfo | undefined {
    return this.parser?.info
  }

  /** Decompressed bytes consumed so far. */
  get bytesRead(): number {
    return this.parser?.bytesFed ?? 0
  }

  /** Records read so far. */
  get recordsRead(): number {
    return this.parser?.count ?? 0
  }

  private async open(): Promise<{
    it: AsyncIterator<Buffer | Uint8Array | string>
    stream?: Partial<Readable>
  }> {
    const src = this.source
    if (typeof src !== 'string' || src === '-') {
      const stream = src === '-' ? stdinStream('a capture') : (src as NodeJS.ReadableStream)
      return {
        it: (stream as AsyncIterable<Buffer | Uint8Array | string>)[Symbol.asyncIterator](),
        stream: stream as Partial<Readable>,
      }
    }
    const fh = await openFile(src, 'r')
    let regular: boolean
    try {
      regular = (await fh.stat()).isFile()
    } catch (e) {
      await fh.close()
      throw e
    }
    if (!regular) {
      // a FIFO, a device...: sequential reads only
      const stream = fh.createReadStream({ highWaterMark: this.readSize })
      return { it: stream[Symbol.asyncIterator](), stream }
    }
    return { it: readChunks(fh, this.readSize) }
  }

  /** The records, in order, one array per read chunk (chunks that complete no record are skipped). */
  async *batches(): AsyncGenerator<CaptureRecord[]> {
    if (this.started) throw new Error('CaptureReader: a reader can be iterated only once')
    this.started = true
    const { it, stream } = await this.open()
    // look at the first bytes for the gzip magic
    const head: Buffer[] = []
    let headLen = 0
    let done = false
    while (headLen < 2) {
      const r = await it.next()
      if (r.done) {
        done = true
        break
      }
      const c = toBuffer(r.value)
      head.push(c)
      headLen += c.length
    }
    const first = head.length === 1 ? head[0] : Buffer.concat(head)
    const gzip = headLen >= 2 && first[0] === 0x1f && first[1] === 0x8b
    const parser = new CaptureParser({ maxRecordLength: this.maxRecordLength, compressed: gzip })
    this.parser = parser

    if (!gzip) {
      try {
        for (const c of head) {
          const recs = parser.push(c)
          if (recs.length > 0) yield recs
          if (parser.failed) throw parser.failed
        }
        while (!done) {
          const r = await it.next()
          if (r.done) {
            done = true
            break
          }
          const c = toBuffer(r.value)
          const recs = parser.push(c)
          if (recs.length > 0) yield recs
          if (parser.failed) throw parser.failed
        }
        parser.end()
      } finally {
        if (!done) await it.return?.()
      }
      return
    }

    // gzip: feed the raw chunks through a gunzip stream that produces readSize chunks
    const gunzip = createGunzip({ chunkSize: Math.max(64, this.readSize) })
    async function* raw(): AsyncGenerator<Buffer> {
      for (const c of head) yield c
      for (;;) {
        const r = await it.next()
        if (r.done) return
        yield toBuffer(r.value)
      }
    }
    pipeline(raw(), gunzip, () => {
      // errors surface through the iteration of gunzip below
    })
    let finished = false
    try {
      for await (const c of gunzip as AsyncIterable<Buffer>) {
        const recs = parser.push(c)
        if (recs.length > 0) yield recs
        if (parser.failed) throw parser.failed
      }
      finished = true
    } catch (e) {
      if (!isGzipError(e)) throw e
      if (parser.failed) throw parser.failed
      const truncated = /unexpected end/i.test(e.message) || e.code === 'Z_BUF_ERROR'
      const code: HepErrorCode = truncated ? 'CAPTURE_TRUNCATED' : 'CAPTURE_FORMAT'
      const detail = truncated ? 'the gzip stream is cut off' : 'corrupt gzip data'
      throw new CaptureError(code, parser.count + 1, parser.resumeOffset, `${detail} (${e.message})`)
    } finally {
      gunzip.destroy()
      // stopped early (break, error): the pipeline may be parked on a read of the source, so stop it directly
      if (!finished) {
        if (stream) stream.destroy?.()
        else it.return?.().catch(() => undefined)
      }
    }
    parser.end()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<CaptureRecord> {
    for await (const batch of this.batches()) {
      for (let i = 0; i < batch.length; i++) yield batch[i]
    }
  }
}

/** Read a whole capture into memory (tests, small files). */
export async function readAll(
  source: string | NodeJS.ReadableStream,
  options?: ReadOptions,
): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = []
  for await (const batch of new CaptureReader(source, options).batches()) {
    for (let i = 0; i < batch.length; i++) out.push(batch[i])
  }
  return out
}
