/**
 * SCTP user messages out of captured packets (RFC 9260): the DATA chunks of each packet (several may
 * be bundled, with other chunks between them), and fragmented user messages put back together from
 * their B(eginning) ... E(nd) fragments, which carry consecutive TSNs (and, when ordered, one stream
 * id and SSN). Only DATA chunks are read (any PPID); I-DATA (RFC 8260) and control chunks are skipped.
 *
 * A DATA chunk seen again (a retransmission: same TSN in the same direction, within 4096 TSNs of the
 * highest seen) is dropped, so each user message comes out once. Fragments are copied and held until
 * their message is complete, with caps on the directions tracked and on the bytes held; what is
 * dropped is counted.
 */

import type { TransportResult } from './result.js'

const CHUNK_DATA = 0
const FLAG_E = 0x01
const FLAG_B = 0x02
const FLAG_U = 0x04

/** TSNs remembered per direction to drop retransmitted DATA chunks */
const RECENT = 4096

export interface SctpOptions {
  /** directions (source -> destination address and port) tracked at once; oldest evicted first. Default 16 384 */
  maxDirections?: number
  /** bytes of fragments held, all directions together. Default 16 MiB */
  memoryCap?: number
  /** largest user message reassembled. Default 256 KiB */
  maxMessageLength?: number
}

export interface SctpStats {
  /** DATA chunks read */
  dataChunks: number
  /** DATA chunks dropped as retransmissions */
  duplicates: number
  /** messages put together from fragments */
  reassembled: number
  /** fragments dropped: caps, eviction, too long, or incomplete at the end */
  fragmentsDropped: number
  /** fragment bytes held now */
  bytesHeld: number
  /** packets whose chunks run past the packet, or a chunk shorter than its header */
  malformed: number
}

export interface SctpMessage {
  payload: Buffer
  streamId: number
  ppid: number
}

interface Fragment {
  tsn: number
  flags: number
  streamId: number
  ssn: number
  ppid: number
  data: Buffer
}

/** Can fragment `g` belong to the message of fragment `f`? (same U flag; ordered: same stream and SSN) */
function sameMessage(g: Fragment, f: Fragment): boolean {
  if ((g.flags & FLAG_U) !== (f.flags & FLAG_U)) return false
  return (f.flags & FLAG_U) !== 0 || (g.streamId === f.streamId && g.ssn === f.ssn)
}

class Direction {
  /**
   * The TSNs seen among the RECENT up to the highest (`top`, in RFC 1982 serial arithmetic, so TSNs
   * wrap): one bit each, 512 bytes a direction (a ring of the last 4096 TSNs seen took 32 KB from
   * the first chunk on: 512 MB for the 16,384 directions tracked).
   */
  private readonly bits = new Uint8Array(RECENT / 8)
  private top = -1
  /** held fragments by TSN */
  frags: Map<number, Fragment> | undefined = undefined
  bytes = 0

  /** true if `tsn` was seen already (and remembers it otherwise) */
  seen(tsn: number): boolean {
    const bits = this.bits
    if (this.top < 0) {
      this.top = tsn
    } else {
      const ahead = (tsn - this.top) >>> 0
      if (ahead === 0) return true
      if (ahead < 0x80000000) {
        // newer: the TSNs between the old top and this one are not seen (yet)
        if (ahead >= RECENT) bits.fill(0)
        else for (let k = 1; k < ahead; k++) clearBit(bits, (this.top + k) >>> 0)
        this.top = tsn
      } else if ((this.top - tsn) >>> 0 >= RECENT)
        return false // too old to tell: taken as new
      else if (getBit(bits, tsn)) return true
    }
    setBit(bits, tsn)
    return false
  }
}

const getBit = (b: Uint8Array, tsn: number) => (b[(tsn & (RECENT - 1)) >>> 3] & (1 << (tsn & 7))) !== 0
const setBit = (b: Uint8Array, tsn: number) => void (b[(tsn & (RECENT - 1)) >>> 3] |= 1 << (tsn & 7))
const clearBit = (b: Uint8Array, tsn: number) => void (b[(tsn & (RECENT - 1)) >>> 3] &= ~(1 << (tsn & 7)))

export class SctpReassembler {
  readonly stats: SctpStats = {
    dataChunks: 0,
    duplicates: 0,
    reassembled: 0,
    fragmentsDropped: 0,
    bytesHeld: 0,
    malformed: 0,
  }
  readonly maxDirections: number
  readonly memoryCap: number
  readonly maxMessageLength: number
  private readonly dirs = new Map<string, Direction>()

  constructor(options: SctpOptions = {}) {
    this.maxDirections = options.maxDirections ?? 16_384
    this.memoryCap = options.memoryCap ?? 16 * 1024 * 1024
    this.maxMessageLength = options.maxMessageLength ?? 256 * 1024
  }

  /**
   * The user messages completed by one SCTP packet (a decoder result of kind 'sctp', whose payload is
   * the chunks after the common header), appended to `out`. A message in one DATA chunk is a view
   * into the packet.
   */
  packet(t: TransportResult, out: SctpMessage[]): void {
    const b = t.payload
    const end = b.length
    let dir: Direction | undefined
    let off = 0
    while (end - off >= 4) {
      const type = b[off]
      const clen = (b[off + 2] << 8) | b[off + 3]
      if (clen < 4 || off + clen > end) {
        this.stats.malformed++
        return
      }
      if (type === CHUNK_DATA && clen >= 16) {
        this.stats.dataChunks++
        const flags = b[off + 1]
        const tsn = b.readUInt32BE(off + 4)
        if (dir === undefined) dir = this.direction(t)
        if (dir.seen(tsn)) this.stats.duplicates++
        else {
          const streamId = (b[off + 8] << 8) | b[off + 9]
          const ppid = b.readUInt32BE(off + 12)
          const data = b.subarray(off + 16, off + clen)
          if ((flags & (FLAG_B | FLAG_E)) === (FLAG_B | FLAG_E)) out.push({ payload: data, streamId, ppid })
          else this.fragment(dir, tsn, flags, streamId, (b[off + 10] << 8) | b[off + 11], ppid, data, out)
        }
      }
      off += (clen + 3) & ~3
    }
  }

  /** End of input: drops the fragments of incomplete messages (counted). */
  flush(): void {
    for (const d of this.dirs.values()) this.dropAll(d)
    this.dirs.clear()
  }

  private direction(t: TransportResult): Direction {
    const key = t.src + ' ' + t.srcPort + ' ' + t.dst + ' ' + t.dstPort
    let d = this.dirs.get(key)
    if (d === undefined) {
      if (this.dirs.size >= this.maxDirections) {
        const [k, oldest] = this.dirs.entries().next().value as [string, Direction]
        this.dropAll(oldest)
        this.dirs.delete(k)
      }
      d = new Direction()
      this.dirs.set(key, d)
    }
    return d
  }

  private fragment(
    dir: Direction,
    tsn: number,
    flags: number,
    streamId: number,
    ssn: number,
    ppid: number,
    data: Buffer,
    out: SctpMessage[],
  ): void {
    if (this.stats.bytesHeld + data.length > this.memoryCap) {
      // over the cap: the oldest directions' fragments go first
      for (const d of this.dirs.values()) {
        if (this.stats.bytesHeld + data.length <= this.memoryCap) break
        this.dropAll(d)
      }
      if (this.stats.bytesHeld + data.length > this.memoryCap) {
        this.stats.fragmentsDropped++
        return
      }
    }
    const copy = Buffer.allocUnsafe(data.length)
    data.copy(copy)
    const f: Fragment = { tsn, flags, streamId, ssn, ppid, data: copy }
    let m = dir.frags
    if (m === undefined) m = dir.frags = new Map()
    m.set(tsn, f)
    dir.bytes += copy.length
    this.stats.bytesHeld += copy.length
    // the message is complete when B ... E with consecutive TSNs (same stream and SSN when ordered) are all held
    let first = f
    let n = 1
    let total = copy.length
    while ((first.flags & FLAG_B) === 0) {
      const g = m.get((first.tsn - 1) >>> 0)
      if (g === undefined || !sameMessage(g, f) || (g.flags & FLAG_E) !== 0) return
      first = g
      n++
      total += g.data.length
    }
    let last = f
    while ((last.flags & FLAG_E) === 0) {
      const g = m.get((last.tsn + 1) >>> 0)
      if (g === undefined || !sameMessage(g, f) || (g.flags & FLAG_B) !== 0) return
      last = g
      n++
      total += g.data.length
    }
    const parts: Buffer[] = []
    let tsnAt = first.tsn
    for (let i = 0; i < n; i++) {
      const g = m.get(tsnAt)!
      parts.push(g.data)
      m.delete(tsnAt)
      tsnAt = (tsnAt + 1) >>> 0
    }
    dir.bytes -= total
    this.stats.bytesHeld -= total
    if (m.size === 0) dir.frags = undefined
    if (total > this.maxMessageLength) {
      this.stats.fragmentsDropped += n
      return
    }
    this.stats.reassembled++
    out.push({ payload: Buffer.concat(parts, total), streamId: first.streamId, ppid: first.ppid })
  }

  private dropAll(d: Direction): void {
    if (d.frags === undefined) return
    this.stats.fragmentsDropped += d.frags.size
    this.stats.bytesHeld -= d.bytes
    d.bytes = 0
    d.frags = undefined
  }
}
