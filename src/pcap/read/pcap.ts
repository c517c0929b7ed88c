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
  type RecordLayer,
} from './types.js'
import { pcapMagic } from './detect.js'

export const PCAP_HEADER_LENGTH = 24

export class PcapRecords implements RecordLayer {
  readonly unitName = 'a record'

  private constructor(
    private readonly le: boolean,
    private readonly ns: boolean,
    private readonly recordHeader: number,
    private readonly linkType: number,
    private readonly snaplen: number,
  ) {}

  /** Reads the file header at b[p] (24 bytes, magic already recognised). */
  static fromHeader(
    b: Buffer,
    p: number,
    st: ParseState,
    compressed: boolean,
  ): { layer: PcapRecords; info: CaptureInfo } {
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
    const snaplen = u32(b, p + 16, le)
    // the upper bits of the link-type field carry the FCS length and flags
    const linkType = u32(b, p + 20, le) & 0x03ffffff
    const info: CaptureInfo = {
      format: 'pcap',
      byteOrder: le ? 'le' : 'be',
      precision: m.ns ? 'ns' : 'us',
      compressed,
      linkTypes: [linkType],
    }
    return { layer: new PcapRecords(le, m.ns, m.recordHeader, linkType, snaplen), info }
  }

  size(b: Buffer, p: number, avail: number, st: ParseState): number {
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
