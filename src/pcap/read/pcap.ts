/**
 * Classic pcap: the 24-byte file header (µs or ns magic, either byte order, the modified "Kuznetzov"
 * variant with its 24-byte record header) and the records after it.
 */
import {
  u16,
  u32,
  u32be,
  u32le,
  type CaptureInfo,
  type CaptureRecord,
  type ParseState,
  pcapMagic,
  unitOf,
  type RecordLayer,
} from './format.js'

export const PCAP_HEADER_LENGTH = 24

/** The file header first (its first field the magic the parser recognised), then the records. */
export class PcapRecords implements RecordLayer {
  info: CaptureInfo | undefined
  /** still to read: the file header */
  private header = true
  private le = true
  private ns = false
  private recordHeader = 16
  private linkType = 0
  private snaplen = 0

  constructor(private readonly compressed: boolean) {}

  unitName(need: number, have: number): string {
    return this.header ? 'the 24-byte file header' : unitOf('a record', need, have)
  }

  /** Reads the file header at b[p] (24 bytes). */
  private fileHeader(b: Buffer, p: number, st: ParseState): void {
    let m = pcapMagic(u32le(b, p))
    let le = true
    if (m === undefined) {
      m = pcapMagic(u32be(b, p)) as { ns: boolean; recordHeader: number }
      le = false
    }
    const major = u16(b, p + 4, le)
    const minor = u16(b, p + 6, le)
    if (major !== 2)
      throw st.fail('CAPTURE_FORMAT', st.base + p, `unsupported pcap version ${major}.${minor}`)
    this.snaplen = u32(b, p + 16, le)
    // the upper bits of the link-type field carry the FCS length and flags
    this.linkType = u32(b, p + 20, le) & 0x03ffffff
    this.le = le
    this.ns = m.ns
    this.recordHeader = m.recordHeader
    this.header = false
    this.info = {
      format: 'pcap',
      byteOrder: le ? 'le' : 'be',
      precision: m.ns ? 'ns' : 'us',
      compressed: this.compressed,
      linkTypes: [this.linkType],
    }
  }

  size(b: Buffer, p: number, avail: number, st: ParseState): number {
    if (this.header) return PCAP_HEADER_LENGTH
    const h = this.recordHeader
    if (avail < h) return h
    const caplen = u32(b, p + 8, this.le)
    if (caplen > st.maxRecord) throw this.tooLong(caplen, p, st)
    return h + caplen
  }

  private tooLong(caplen: number, p: number, st: ParseState): Error {
    return st.fail(
      'CAPTURE_RECORD_LENGTH',
      st.base + p,
      `captured length ${caplen} is larger than the maximum of ${st.maxRecord} (snaplen ${this.snaplen})`,
    )
  }

  /** The hot loop: a record is a view into `b`, no copy. */
  run(b: Buffer, p: number, end: number, st: ParseState, out: CaptureRecord[]): number {
    if (this.header) {
      if (end - p < PCAP_HEADER_LENGTH) return p
      this.fileHeader(b, p, st)
      p += PCAP_HEADER_LENGTH
    }
    const { recordHeader: h, le, ns, linkType } = this
    const max = st.maxRecord
    const base = st.base
    while (end - p >= h) {
      const caplen = u32(b, p + 8, le)
      if (caplen > max) throw this.tooLong(caplen, p, st)
      const n = h + caplen
      if (n > end - p) break
      const len = u32(b, p + 12, le)
      let sec = u32(b, p, le)
      const frac = u32(b, p + 4, le)
      let nanos = ns ? frac : frac * 1000
      if (nanos > 999_999_999) {
        const carry = Math.floor(nanos / 1e9)
        sec += carry
        nanos -= carry * 1e9
      }
      out.push({
        index: ++st.count,
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
    return p
  }
}
