/**
 * pcapng: sections of either byte order (SHB), interfaces with their link type, if_tsresol and
 * if_tsoffset (IDB), and the packet blocks: enhanced (EPB), simple (SPB) and the obsolete packet block
 * (PB); interface statistics (ISB: received, dropped, delivered) are kept in `info.interfaceStats`. Every
 * other block (NRB, DSB, custom, unknown) is checked for its framing and skipped.
 */
import {
  BOM,
  PCAPNG_SHB,
  u16,
  u32,
  unitOf,
  type CaptureInfo,
  type CaptureRecord,
  type ParseState,
  type RecordLayer,
} from './format.js'
import { readIdb, readIsb, splitTimestamp, type Iface, type SecondsNanos } from './interfaces.js'

/** blocks other than packet blocks (SHB, IDB, NRB, ISB, DSB, custom...) are accepted up to this size */
const MAX_OTHER_BLOCK = 16 * 1024 * 1024
/** room a packet block may have beyond its packet data (header, padding, options), as Wireshark allows */
const PACKET_BLOCK_SLACK = 131072

const BLOCK = { IDB: 1, PB: 2, SPB: 3, ISB: 5, EPB: 6 } as const

export class PcapngBlocks implements RecordLayer {
  info: CaptureInfo | undefined
  /** byte order of the current section */
  private le = true
  private ifaces: Iface[] = []
  private sectionCount = 0
  private readonly time: SecondsNanos = { seconds: 0, nanos: 0 }

  constructor(private readonly compressed: boolean) {}

  unitName(need: number, have: number): string {
    return unitOf('a block', need, have)
  }

  size(b: Buffer, p: number, avail: number, st: ParseState): number {
    if (avail < 12) return 12
    const type = u32(b, p, this.le)
    let le = this.le
    if (type === PCAPNG_SHB) {
      // a new section: its byte order comes from its own byte-order magic
      if (u32(b, p + 8, true) === BOM) le = true
      else if (u32(b, p + 8, false) === BOM) le = false
      else {
        throw st.fail(
          this.sectionCount === 0 ? 'CAPTURE_FORMAT' : 'CAPTURE_BLOCK',
          st.base + p,
          `section header block with a bad byte-order magic 0x${u32(b, p + 8, true)
            .toString(16)
            .padStart(8, '0')}`,
        )
      }
    }
    const total = u32(b, p + 4, le)
    const isPacket = type === BLOCK.EPB || type === BLOCK.SPB || type === BLOCK.PB
    const max = isPacket ? st.maxRecord + PACKET_BLOCK_SLACK : MAX_OTHER_BLOCK
    if (total < 12 || total % 4 !== 0 || total > max || (type === PCAPNG_SHB && total < 28)) {
      throw st.fail(
        'CAPTURE_RECORD_LENGTH',
        st.base + p,
        `block type 0x${type.toString(16)} has an impossible total length ${total}` +
          (total > max ? ` (maximum ${max})` : total % 4 !== 0 ? ' (not a multiple of 4)' : ''),
      )
    }
    return total
  }

  /** The hot loop: a plausible EPB goes straight to epb(); any other block, or any doubt, through size(). */
  run(b: Buffer, p: number, end: number, st: ParseState, out: CaptureRecord[]): number {
    const maxBlock = st.maxRecord + PACKET_BLOCK_SLACK
    while (end - p >= 12) {
      const le = this.le
      let n = u32(b, p + 4, le)
      if (u32(b, p, le) === BLOCK.EPB && n >= 32 && n <= maxBlock && (n & 3) === 0) {
        if (n > end - p) break
        this.epb(b, p, n, st, out, false)
      } else {
        n = this.size(b, p, end - p, st)
        if (n > end - p) break
        this.block(b, p, n, st, out)
      }
      p += n
    }
    return p
  }

  private block(b: Buffer, p: number, n: number, st: ParseState, out: CaptureRecord[]): void {
    const type = u32(b, p, this.le)
    if (type === PCAPNG_SHB) return this.shb(b, p, n, st)
    if (this.sectionCount === 0)
      throw st.fail('CAPTURE_BLOCK', st.base + p, 'block before the section header')
    this.checkTrailer(b, p, n, type, st)
    switch (type) {
      case BLOCK.EPB:
        return this.epb(b, p, n, st, out, false)
      case BLOCK.PB:
        return this.epb(b, p, n, st, out, true)
      case BLOCK.SPB:
        return this.spb(b, p, n, st, out)
      case BLOCK.IDB:
        return this.idb(b, p, n, st)
      case BLOCK.ISB:
        return this.isb(b, p, n)
      default:
        return // NRB, DSB, custom and unknown blocks: skipped
    }
  }

  private checkTrailer(b: Buffer, p: number, n: number, type: number, st: ParseState): void {
    const trailer = u32(b, p + n - 4, this.le)
    if (trailer !== n) {
      throw st.fail(
        'CAPTURE_BLOCK',
        st.base + p,
        `block type 0x${type.toString(16)}: total length ${n} at the start but ${trailer} at the end`,
      )
    }
  }

  private shb(b: Buffer, p: number, n: number, st: ParseState): void {
    const le = u32(b, p + 8, true) === BOM
    const trailer = u32(b, p + n - 4, le)
    const first = this.sectionCount === 0
    const code = first ? 'CAPTURE_FORMAT' : 'CAPTURE_BLOCK'
    if (trailer !== n) {
      throw st.fail(
        code,
        st.base + p,
        `section header block: total length ${n} at the start but ${trailer} at the end`,
      )
    }
    const major = u16(b, p + 12, le)
    const minor = u16(b, p + 14, le)
    if (major !== 1) throw st.fail(code, st.base + p, `unsupported pcapng version ${major}.${minor}`)
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

  private idb(b: Buffer, p: number, n: number, st: ParseState): void {
    const ifc = readIdb(b, p, n, this.le, st)
    const info = this.info
    if (this.ifaces.length === 0 && this.sectionCount === 1 && info) info.precision = ifc.precision
    this.ifaces.push(ifc)
    if (info && !info.linkTypes.includes(ifc.linkType)) info.linkTypes.push(ifc.linkType)
  }

  /** The latest statistics block of an interface replaces the one before. */
  private isb(b: Buffer, p: number, n: number): void {
    if (!this.info) return
    const s = readIsb(b, p, n, this.le, this.ifaces)
    if (s === undefined) return
    const all = (this.info.interfaceStats ??= [])
    const k = all.findIndex((x) => x.interfaceId === s.interfaceId && x.name === s.name)
    if (k >= 0) all[k] = s
    else all.push(s)
  }

  /** The one parser of enhanced packet blocks (and of the obsolete packet block, `obsolete`). */
  private epb(
    b: Buffer,
    p: number,
    n: number,
    st: ParseState,
    out: CaptureRecord[],
    obsolete: boolean,
  ): void {
    const le = this.le
    const what = obsolete ? 'packet block' : 'enhanced packet block'
    if (n < 32) throw st.fail('CAPTURE_BLOCK', st.base + p, `${what} of ${n} bytes`)
    if (!obsolete) this.checkTrailer(b, p, n, BLOCK.EPB, st)
    const id = obsolete ? u16(b, p + 8, le) : u32(b, p + 8, le)
    const ifc = this.ifaces[id]
    if (ifc === undefined) {
      const k = this.ifaces.length
      throw st.fail(
        'CAPTURE_BLOCK',
        st.base + p,
        `${what} names interface ${id}, but the section describes ${k} interface${k === 1 ? '' : 's'}`,
      )
    }
    const caplen = u32(b, p + 20, le)
    const len = u32(b, p + 24, le)
    if (caplen > n - 32) {
      throw st.fail(
        'CAPTURE_BLOCK',
        st.base + p,
        `${what}: captured length ${caplen} overruns the ${n}-byte block`,
      )
    }
    if (caplen > st.maxRecord) {
      throw st.fail(
        'CAPTURE_RECORD_LENGTH',
        st.base + p,
        `captured length ${caplen} is larger than the maximum of ${st.maxRecord}`,
      )
    }
    const t = this.time
    splitTimestamp(u32(b, p + 12, le), u32(b, p + 16, le), ifc, t)
    out.push({
      index: ++st.count,
      offset: st.base + p,
      linkType: ifc.linkType,
      interfaceId: id,
      seconds: t.seconds,
      nanos: t.nanos,
      originalLength: len,
      data: b.subarray(p + 28, p + 28 + caplen),
      truncated: caplen < len,
    })
  }

  private spb(b: Buffer, p: number, n: number, st: ParseState, out: CaptureRecord[]): void {
    if (n < 16) throw st.fail('CAPTURE_BLOCK', st.base + p, `simple packet block of ${n} bytes`)
    const ifc = this.ifaces[0]
    if (ifc === undefined) {
      throw st.fail('CAPTURE_BLOCK', st.base + p, 'simple packet block in a section without an interface')
    }
    const len = u32(b, p + 8, this.le)
    let caplen = Math.min(len, n - 16)
    if (ifc.snaplen > 0 && caplen > ifc.snaplen) caplen = ifc.snaplen
    if (caplen > st.maxRecord) {
      throw st.fail(
        'CAPTURE_RECORD_LENGTH',
        st.base + p,
        `captured length ${caplen} is larger than the maximum of ${st.maxRecord}`,
      )
    }
    out.push({
      index: ++st.count,
      offset: st.base + p,
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
