/**
 * IP fragment reassembly (IPv4 and IPv6), driven by capture time.
 *
 * Datagrams are held in a map by key (the caller builds it: source, destination, identification and,
 * for IPv4, protocol) and, for expiry and eviction, in a list in the order their first fragment
 * arrived. Fragment data is copied when held (the caller's frame buffer may be reused); the completed
 * datagram is a fresh buffer.
 *
 * - out-of-order fragments: held until the datagram is covered from 0 to its end (known from the
 *   fragment without "more fragments");
 * - duplicates (same offset and length as a held fragment) are ignored; other overlaps are accepted and
 *   the fragment with the higher offset wins the overlapping bytes;
 * - a datagram whose first fragment is older than the timeout (capture time) is discarded when the
 *   next packet (any packet) is decoded: its fragments are counted in fragmentsExpired;
 * - when the bytes held for all datagrams exceed the memory cap, the oldest datagrams are discarded
 *   (fragmentsDropped) until the total fits again.
 */

export const FRAG_PENDING = 0
export const FRAG_COMPLETE = 1
export const FRAG_DROPPED = 2

/** The largest reassembled payload accepted (IPv4 total length / IPv6 payload length are 16 bits). */
export const MAX_DATAGRAM = 65535

/** The counters the table keeps; the decoder's stats object is passed in and updated in place. */
export interface FragmentStats {
  fragmentsHeld: number
  fragmentBytesHeld: number
  reassembled: number
  fragmentsExpired: number
  fragmentsDropped: number
}

interface Piece {
  offset: number
  end: number
  data: Buffer
}

class Datagram {
  /** end of the reassembled data, known once the last fragment arrived; -1 before */
  total = -1
  bytes = 0
  protocol = -1
  pieces: Piece[] = []
  prev: Datagram | undefined = undefined
  next: Datagram | undefined = undefined
  constructor(
    readonly key: string,
    readonly first: number,
  ) {}
}

export class FragmentTable {
  /** on FRAG_COMPLETE: the reassembled data (starting with the upper-layer / next header) */
  datagram: Buffer = Buffer.alloc(0)
  /** on FRAG_COMPLETE: how many fragments it was made of */
  count = 0
  /** on FRAG_COMPLETE: the protocol the offset-0 fragment gave */
  protocol = 0
  /** on FRAG_DROPPED: why (a static string) */
  error = ''

  private readonly map = new Map<string, Datagram>()
  private head: Datagram | undefined = undefined
  private tail: Datagram | undefined = undefined

  constructor(
    private readonly timeoutMs: number,
    private readonly memoryCap: number,
    private readonly stats: FragmentStats,
  ) {}

  /** Number of incomplete datagrams held. */
  get size(): number {
    return this.map.size
  }

  /** Discards the datagrams whose first fragment arrived more than the timeout before `nowMs`. */
  expire(nowMs: number): void {
    const limit = nowMs - this.timeoutMs
    let d = this.head
    while (d !== undefined && d.first < limit) {
      this.remove(d)
      this.stats.fragmentsExpired += d.pieces.length
      d = this.head
    }
  }

  /** Discards every datagram held (end of the capture), counting their fragments as expired. */
  clear(): void {
    let d = this.head
    while (d !== undefined) {
      this.remove(d)
      this.stats.fragmentsExpired += d.pieces.length
      d = this.head
    }
  }

  /**
   * Adds the fragment buf[start, end) found at byte `offset` of datagram `key`; `more` is the "more
   * fragments" flag, `protocol` the protocol / next header the fragment carries (taken from the
   * offset-0 fragment). Returns FRAG_PENDING, FRAG_COMPLETE (see datagram, count, protocol) or
   * FRAG_DROPPED (see error).
   */
  add(
    key: string,
    protocol: number,
    offset: number,
    more: boolean,
    buf: Buffer,
    start: number,
    end: number,
    nowMs: number,
  ): number {
    const len = end - start
    const fragEnd = offset + len
    if (fragEnd > MAX_DATAGRAM) return this.dropOne('fragment past the 64 KiB datagram limit')
    if (len > this.memoryCap) return this.dropOne('fragment larger than the fragment memory cap')
    let d = this.map.get(key)
    if (d === undefined) {
      d = new Datagram(key, nowMs)
      this.map.set(key, d)
      if (this.tail === undefined) this.head = d
      else {
        this.tail.next = d
        d.prev = this.tail
      }
      this.tail = d
    }
    const pieces = d.pieces
    if (!more) {
      if (d.total >= 0 && d.total !== fragEnd)
        return this.dropDatagram(d, 'a second, different last fragment')
      for (let i = pieces.length - 1; i >= 0; i--) {
        if (pieces[i].end > fragEnd) return this.dropDatagram(d, 'a fragment past the last fragment')
      }
      d.total = fragEnd
    } else if (d.total >= 0 && fragEnd > d.total) {
      return this.dropDatagram(d, 'a fragment past the last fragment')
    }
    // insert in offset order (fragments mostly arrive in order: search from the end)
    let i = pieces.length
    while (i > 0 && pieces[i - 1].offset > offset) i--
    if (i > 0 && pieces[i - 1].offset === offset && pieces[i - 1].end === fragEnd) {
      return FRAG_PENDING // duplicate
    }
    const data = Buffer.allocUnsafe(len)
    buf.copy(data, 0, start, end)
    pieces.splice(i, 0, { offset, end: fragEnd, data })
    d.bytes += len
    this.stats.fragmentsHeld++
    this.stats.fragmentBytesHeld += len
    if (offset === 0) d.protocol = protocol

    // memory cap: evict the oldest datagrams
    while (this.stats.fragmentBytesHeld > this.memoryCap) {
      const old = this.head as Datagram
      this.remove(old)
      this.stats.fragmentsDropped += old.pieces.length
      if (old === d) {
        this.error = 'fragment memory cap exceeded'
        return FRAG_DROPPED
      }
    }

    if (d.total < 0) return FRAG_PENDING
    // covered from 0 to total?
    let covered = 0
    for (let k = 0; k < pieces.length; k++) {
      const p = pieces[k]
      if (p.offset > covered) return FRAG_PENDING
      if (p.end > covered) covered = p.end
    }
    if (covered < d.total) return FRAG_PENDING
    const out = Buffer.allocUnsafe(d.total)
    for (let k = 0; k < pieces.length; k++) pieces[k].data.copy(out, pieces[k].offset)
    this.remove(d)
    this.stats.reassembled++
    this.datagram = out
    this.count = pieces.length
    this.protocol = d.protocol
    return FRAG_COMPLETE
  }

  private dropOne(error: string): number {
    this.stats.fragmentsDropped++
    this.error = error
    return FRAG_DROPPED
  }

  /** Drops datagram `d` and the fragment that contradicted it. */
  private dropDatagram(d: Datagram, error: string): number {
    this.remove(d)
    this.stats.fragmentsDropped += d.pieces.length + 1
    this.error = error
    return FRAG_DROPPED
  }

  private remove(d: Datagram): void {
    if (this.map.get(d.key) !== d) return
    this.map.delete(d.key)
    if (d.prev === undefined) this.head = d.next
    else d.prev.next = d.next
    if (d.next === undefined) this.tail = d.prev
    else d.next.prev = d.prev
    d.prev = d.next = undefined
    this.stats.fragmentsHeld -= d.pieces.length
    this.stats.fragmentBytesHeld -= d.bytes
  }
}
