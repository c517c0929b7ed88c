/**
 * Which protocol a TCP direction carries, decided by its first bytes: "HEP3" -> HEP; a SIP start
 * line -> SIP; an HTTP WebSocket upgrade (or its 101 answer) -> WebSocket, once the whole HTTP head
 * is in; on a stream picked up mid-way, also a WebSocket data frame whose payload starts a SIP
 * message. Anything else is searched for the next SIP start line (at the start of a line) or HEP3
 * magic; a direction with no start within its search budget is left alone (TLS, HTTP, ...), counted
 * per segment. Once decided, the detector hands every byte over to the protocol's handler.
 */
import { isSipStart } from '../../sip/scan.js'
import { findSipStart, isKnownSipStart, LINE_START, MID_LINE, tailLineStart } from '../../sip/stream.js'
import {
  HANDSHAKE_INCOMPLETE,
  HANDSHAKE_NOT_WEBSOCKET,
  isHttpStart,
  looksLikeDataFrame,
  webSocketHandshake,
} from '../../sip/websocket.js'
import type { Stamp } from '../stamp.js'
import type { StreamAddress, StreamFactory, StreamHandler, StreamProtocol, StreamSink } from './handler.js'

const CR = 13
const LF = 10

/**
 * bytes searched for a first SIP start line / HEP3 magic before a direction is left alone: on a
 * stream seen from its SYN (whose first byte should have been a start: room for a PROXY protocol
 * header or such), and on one picked up mid-way (room for the rest of a long message)
 */
export const STREAM_SEARCH_BUDGET_FRESH = 16 * 1024
export const STREAM_SEARCH_BUDGET = 256 * 1024
/** longest first line waited for while deciding what a direction carries */
const MAX_FIRST_LINE = 8 * 1024

function isHep3At(b: Buffer, i: number): boolean {
  return b[i] === 0x48 && b[i + 1] === 0x45 && b[i + 2] === 0x50 && b[i + 3] === 0x33
}

/**
 * Could b[i..] (no LF yet) become a start line ("METHOD uri SIP/2.0", "SIP/2.0 ...", "GET / HTTP/1.1")?
 * A letter first and no control bytes: binary data (TLS...) is searched at once, not waited on.
 */
function couldStartLine(b: Buffer, i: number): boolean {
  const c = b[i] | 0x20
  if (c < 0x61 || c > 0x7a) return false
  for (let k = i + 1; k < b.length; k++) {
    const x = b[k]
    if (x < 0x20 && x !== CR && x !== 9) return false
    if (x === 0x7f) return false
  }
  return true
}

/** Is b[i..] a (possibly cut) prefix of "HEP3"? */
function hepPrefixAt(b: Buffer, i: number): boolean {
  const magic = 'HEP3'
  for (let k = 0; i + k < b.length && k < 4; k++) if (b[i + k] !== magic.charCodeAt(k)) return false
  return true
}

export class StreamDetector implements StreamHandler {
  /** the protocol's handler, once decided: it gets everything from then on */
  private decided: StreamHandler | undefined = undefined
  /** an HTTP head has started: waiting for the rest of it (a WebSocket handshake?) */
  private http = false
  /** bytes held until the protocol is known (an owned copy) */
  private pending: Buffer | undefined = undefined
  /** the next byte is the first of the stream or follows a hole: a start is accepted right there */
  private edge = true
  /** the next byte (while searching) starts a line */
  private lineStart = true
  /** seen from its SYN (and no hole since): the first byte starts a message */
  private fresh: boolean
  /** bytes searched without finding a start */
  private searched = 0

  constructor(
    private readonly factory: StreamFactory,
    private readonly sink: StreamSink,
    private readonly from: StreamAddress,
    midStream: boolean,
  ) {
    this.fresh = !midStream
  }

  get buffered(): number {
    const d = this.decided
    return d !== undefined ? d.buffered : (this.pending?.length ?? 0)
  }

  push(data: Buffer, stamp: Stamp): void {
    const d = this.decided
    if (d !== undefined) d.push(data, stamp)
    else if (this.http) this.handshake(data, stamp)
    else this.search(data, stamp)
  }

  gap(): void {
    const d = this.decided
    if (d !== undefined) return d.gap()
    // still deciding (or in the handshake): start over after the hole
    this.http = false
    this.pending = undefined
    this.edge = true
    this.fresh = false
  }

  end(): void {
    const d = this.decided
    if (d !== undefined) return d.end()
    if (this.pending !== undefined && !this.http) this.sink.counts.resyncBytes += this.pending.length
  }

  /** Looks for what starts the direction, or (not at a start) for the next SIP start line or HEP3 magic. */
  private search(data: Buffer, stamp: Stamp): void {
    const buf = this.take(data)
    const counts = this.sink.counts
    const len = buf.length
    let pos = 0
    while (pos < len && (buf[pos] === CR || buf[pos] === LF)) pos++
    if (pos > 0) counts.keepAlives++
    if (pos === len) {
      this.lineStart = true
      return
    }
    const edge = this.edge
    if (edge) {
      // the bytes at pos begin the stream (or follow a hole): what starts here?
      if (len - pos < 4 && hepPrefixAt(buf, pos)) return this.hold(buf, pos)
      if (isHep3At(buf, pos)) return this.handOver('hep', buf, pos, stamp)
      const rest = pos === 0 ? buf : buf.subarray(pos)
      if (isHttpStart(rest)) {
        this.edge = false
        this.http = true
        return this.handshake(rest, stamp)
      }
      // any method on a fresh stream; after a hole or mid-stream, only known ones (see stream.ts EDGE)
      if (this.fresh ? isSipStart(rest) : isKnownSipStart(rest)) return this.handOver('sip', buf, pos, stamp)
      // a first line not complete yet: wait for it
      if (buf.indexOf(LF, pos) < 0 && len - pos <= MAX_FIRST_LINE && couldStartLine(buf, pos))
        return this.hold(buf, pos)
      if (!this.fresh && looksLikeDataFrame(rest, isSipStart))
        return this.handOver('websocket', buf, pos, stamp)
      this.edge = false
    }
    // not at a start: search for the next SIP start line (at a line start) or HEP3 magic
    const from = edge ? pos + 1 : pos
    const lineStart = !edge && (pos > 0 || this.lineStart)
    const s = findSipStart(buf, from, lineStart ? LINE_START : MID_LINE)
    const h = buf.indexOf('HEP3', from, 'latin1')
    const at = s < 0 ? h : h < 0 ? s : Math.min(s, h)
    if (at >= 0) {
      counts.resyncBytes += at - pos
      return this.handOver(at === h ? 'hep' : 'sip', buf, at, stamp)
    }
    // nothing yet: keep the last line (it may become a start line) or the last 3 bytes ("HEP")
    const lineKeep = tailLineStart(buf, from, lineStart ? LINE_START : MID_LINE)
    let keep = lineKeep
    if (keep > len - 3) keep = Math.max(from, len - 3)
    this.searched += keep - pos
    counts.resyncBytes += keep - pos
    if (this.searched > (this.fresh ? STREAM_SEARCH_BUDGET_FRESH : STREAM_SEARCH_BUDGET))
      return this.handOver('other', buf, 0, stamp)
    if (keep < len) {
      this.lineStart = keep === lineKeep
      this.hold(buf, keep)
    } else this.lineStart = buf[len - 1] === LF
  }

  /** HTTP: waits for the whole head; a WebSocket upgrade (or its 101) switches to WebSocket frames. */
  private handshake(data: Buffer, stamp: Stamp): void {
    const buf = this.take(data)
    const n = webSocketHandshake(buf)
    if (n === HANDSHAKE_INCOMPLETE) return this.hold(buf, 0)
    this.http = false
    if (n === HANDSHAKE_NOT_WEBSOCKET) this.handOver('other', buf, 0, stamp)
    else this.handOver('websocket', buf, n, stamp)
  }

  /** The direction carries `protocol`: its handler takes over, starting with buf[at..] (if any). */
  private handOver(protocol: StreamProtocol, buf: Buffer, at: number, stamp: Stamp): void {
    const counts = this.sink.counts
    if (protocol === 'sip') counts.sipStreams++
    else if (protocol === 'hep') counts.hepStreams++
    else if (protocol === 'websocket') counts.webSocketStreams++
    else counts.otherStreams++
    const d = (this.decided = this.factory.handler(protocol, this.from))
    if (at < buf.length) d.push(at === 0 ? buf : buf.subarray(at), stamp)
  }

  /** The bytes held back (if any) followed by the new ones; nothing stays held. */
  private take(data: Buffer): Buffer {
    const held = this.pending
    if (held === undefined) return data
    this.pending = undefined
    return Buffer.concat([held, data])
  }

  /** keeps buf[from..] (copied) until more bytes arrive */
  private hold(buf: Buffer, from: number): void {
    const rest = Buffer.allocUnsafe(buf.length - from)
    buf.copy(rest, 0, from)
    this.pending = rest
  }
}
