/**
 * Messages out of captured streams: TCP (reassembled by src/pcap/tcp.ts) carrying SIP (framed by
 * Content-Length), HEP3 (Hep3Framer, as Kamailio sends HEP over TCP) or SIP over WebSocket, and SCTP
 * user messages (src/pcap/sctp.ts) carrying SIP or HEP.
 *
 * What a TCP direction carries is decided by its first bytes: "HEP3" -> HEP; a SIP start line -> SIP;
 * an HTTP WebSocket upgrade (or its 101 answer) -> WebSocket; on a stream picked up mid-way, also a
 * WebSocket data frame whose payload starts a SIP message. Anything else is searched for the next SIP
 * start line (at the start of a line) or HEP3 magic; a direction with no start in its first 256 KiB
 * is left alone (TLS, HTTP, ...), counted per segment.
 *
 * A message's capture facts are those of the segment (packet) that completed it: frame number,
 * timestamp, VLAN; addresses and ports are the direction's.
 */

import type { DecodeError } from '../errors.js'
import { Hep3Framer } from '../hep/framer.js'
import type { TransportResult } from '../pcap/result.js'
import { SctpReassembler, type SctpMessage, type SctpOptions, type SctpStats } from '../pcap/sctp.js'
import {
  TcpReassembler,
  type TcpConsumer,
  type TcpEndReason,
  type TcpHalf,
  type TcpReassemblyOptions,
  type TcpStats,
} from '../pcap/tcp.js'
import { isSipStart, type SipInfo } from '../sip/scan.js'
import {
  findSipStart,
  isKnownSipStart,
  LINE_START,
  MID_LINE,
  SipStreamFramer,
  tailLineStart,
  type SipStreamMessage,
} from '../sip/stream.js'
import {
  HANDSHAKE_INCOMPLETE,
  HANDSHAKE_NOT_WEBSOCKET,
  isHttpStart,
  looksLikeDataFrame,
  WebSocketFramer,
  webSocketHandshake,
  type WebSocketMessage,
} from '../sip/websocket.js'
import { classifyMessage } from './classify.js'
import type { CapturedMessage, ExtractStats } from './extract.js'

const UNKNOWN = 0
const SIP = 1
const HEP = 2
const HTTP = 3
const WS = 4
const OTHER = 5

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

export interface StreamStats {
  tcp: TcpStats
  sctp: SctpStats
  /** TCP directions by what they carried */
  sipStreams: number
  hepStreams: number
  webSocketStreams: number
  otherStreams: number
  /** CRLF keep-alives between messages */
  keepAlives: number
  /** bytes skipped looking for a SIP start line / HEP3 magic (mid-stream starts, holes, bad data) */
  resyncBytes: number
  /** messages dropped: cut by a hole, incomplete when their stream ended, or too long */
  incomplete: number
  /** SIP messages longer than the framer's limit (256 KiB), skipped */
  tooLong: number
  /** WebSocket control frames (ping, pong, close) */
  webSocketControlFrames: number
  /** WebSocket messages skipped whole: compressed (RSV bits, permessage-deflate) or too long */
  webSocketUnreadable: number
  /** WebSocket framing errors (the rest of that direction is ignored) */
  webSocketErrors: number
}

export type StreamOptions = TcpReassemblyOptions & { sctp?: SctpOptions }

/** What one TCP direction carries and its framer. */
export class StreamState {
  mode = UNKNOWN
  /** UNKNOWN / HTTP: bytes held until the protocol is known (an owned copy) */
  pending: Buffer | undefined = undefined
  /** the next byte is the first of the stream or follows a hole: a start is accepted right there */
  edge = true
  /** the next byte (while searching) starts a line */
  lineStart = true
  /** seen from its SYN (and no hole since): the first byte starts a message */
  fresh: boolean
  /** bytes searched without finding a start */
  searched = 0
  sip: SipStreamFramer | undefined = undefined
  hep: Hep3Framer | undefined = undefined
  ws: WebSocketFramer | undefined = undefined

  constructor(midStream: boolean) {
    this.fresh = !midStream
  }
}

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

/** The bytes held back for this direction (if any) followed by the new ones; nothing stays held. */
function takePending(st: StreamState, data: Buffer): Buffer {
  const held = st.pending
  if (held === undefined) return data
  st.pending = undefined
  return Buffer.concat([held, data])
}

export class CaptureStreams implements TcpConsumer<StreamState> {
  /** where completed messages go: the extractor sets it to the batch being built */
  out: CapturedMessage[] = []
  readonly tcp: TcpReassembler<StreamState>
  readonly sctp: SctpReassembler
  readonly counts = {
    sipStreams: 0,
    hepStreams: 0,
    webSocketStreams: 0,
    otherStreams: 0,
    keepAlives: 0,
    resyncBytes: 0,
    incomplete: 0,
    tooLong: 0,
    webSocketControlFrames: 0,
    webSocketUnreadable: 0,
    webSocketErrors: 0,
  }
  private readonly sipOut: SipStreamMessage[] = []
  private readonly wsOut: WebSocketMessage[] = []
  private readonly sctpOut: SctpMessage[] = []
  private readonly onHepError: (e: DecodeError) => void

  constructor(
    private readonly want: 'sip' | 'hep' | 'both',
    private readonly stats: ExtractStats,
    options: StreamOptions = {},
  ) {
    this.tcp = new TcpReassembler(this, options)
    this.sctp = new SctpReassembler(options.sctp)
    this.onHepError = () => this.skip('bad data in a HEP stream')
  }

  /** One TCP segment of record `frame`. */
  tcpSegment(t: TransportResult, frame: number, seconds: number, nanos: number): void {
    this.tcp.segment(t, frame, seconds, nanos)
  }

  /** One SCTP packet of record `frame`: its complete user messages, classified like UDP payloads. */
  sctpPacket(t: TransportResult, frame: number, seconds: number, nanos: number): void {
    const msgs = this.sctpOut
    this.sctp.packet(t, msgs)
    for (let i = 0; i < msgs.length; i++) {
      const p = msgs[i].payload
      const c = classifyMessage(p)
      const kind = c === undefined ? undefined : c === 'hep' ? 'hep' : 'sip'
      const sip = c === 'hep' ? undefined : c
      if (kind === undefined) this.skip('SCTP message not SIP/HEP')
      else
        this.emit(
          kind,
          'sctp',
          t.ipVersion,
          t.src,
          t.dst,
          t.srcPort,
          t.dstPort,
          frame,
          seconds,
          nanos,
          t.vlan,
          p,
          sip,
        )
    }
    msgs.length = 0
  }

  /** End of input: every stream is closed; what completes now goes to `out`. */
  flush(): void {
    this.tcp.flush()
    this.sctp.flush()
  }

  /** The counters, TCP and SCTP included. */
  get streamStats(): StreamStats {
    return { tcp: this.tcp.stats, sctp: this.sctp.stats, ...this.counts }
  }

  // ---------------------------------------------------------------- TcpConsumer

  data(
    half: TcpHalf<StreamState>,
    data: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    let st = half.app
    if (st === undefined) st = half.app = new StreamState(half.midStream)
    switch (st.mode) {
      case SIP: {
        const msgs = this.sipOut
        st.sip!.push(data, msgs)
        if (msgs.length > 0) this.emitSip(half, msgs, frame, seconds, nanos, vlan)
        return
      }
      case HEP:
        this.pushHep(half, st, data, frame, seconds, nanos, vlan)
        return
      case WS:
        this.pushWs(half, st, data, frame, seconds, nanos, vlan)
        return
      case OTHER:
        this.skip('TCP stream not SIP/HEP')
        return
      case HTTP:
        this.handshake(half, st, data, frame, seconds, nanos, vlan)
        return
      default:
        this.classify(half, st, data, frame, seconds, nanos, vlan)
    }
  }

  gap(half: TcpHalf<StreamState>): void {
    const st = half.app
    if (st === undefined) return
    switch (st.mode) {
      case SIP:
        st.sip!.gap()
        return
      case HEP:
        // drop the packet in progress; bad magic after the hole makes the framer resynchronise
        if (st.hep!.buffered > 0) this.counts.incomplete++
        st.hep!.reset()
        return
      case WS:
        st.ws!.gap()
        return
      case OTHER:
        return
      default:
        // still deciding (or in the handshake): start over after the hole
        st.mode = UNKNOWN
        st.pending = undefined
        st.edge = true
        st.fresh = false
    }
  }

  end(half: TcpHalf<StreamState>, _reason: TcpEndReason): void {
    const st = half.app
    if (st === undefined) return
    half.app = undefined
    const c = this.counts
    const sip = st.sip
    if (sip !== undefined) {
      sip.end()
      c.keepAlives += sip.keepAlives
      c.resyncBytes += sip.skippedBytes
      c.incomplete += sip.dropped - sip.tooLong
      c.tooLong += sip.tooLong
    }
    const hep = st.hep
    if (hep !== undefined) {
      if (hep.buffered > 0) c.incomplete++
      c.resyncBytes += hep.skipped
    }
    const ws = st.ws
    if (ws !== undefined) {
      ws.end()
      c.incomplete += ws.dropped
      c.webSocketUnreadable += ws.unreadable
      c.webSocketErrors += ws.protocolErrors
      c.webSocketControlFrames += ws.controlFrames
    }
    if (st.pending !== undefined && st.mode === UNKNOWN) c.resyncBytes += st.pending.length
  }

  buffered(half: TcpHalf<StreamState>): number {
    const st = half.app
    if (st === undefined) return 0
    switch (st.mode) {
      case SIP:
        return st.sip!.buffered
      case HEP:
        return st.hep!.buffered
      case WS:
        return st.ws!.buffered
      default:
        return st.pending?.length ?? 0
    }
  }

  // ---------------------------------------------------------------- deciding what a direction carries

  private classify(
    half: TcpHalf<StreamState>,
    st: StreamState,
    data: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    const buf = takePending(st, data)
    const len = buf.length
    let pos = 0
    while (pos < len && (buf[pos] === CR || buf[pos] === LF)) pos++
    if (pos > 0) this.counts.keepAlives++
    if (pos === len) {
      st.lineStart = true
      return
    }
    const edge = st.edge
    if (edge) {
      // the bytes at pos begin the stream (or follow a hole): what starts here?
      if (len - pos < 4 && hepPrefixAt(buf, pos)) return this.hold(st, buf, pos)
      if (isHep3At(buf, pos)) return this.enter(half, st, HEP, buf, pos, frame, seconds, nanos, vlan)
      const rest = pos === 0 ? buf : buf.subarray(pos)
      if (isHttpStart(rest)) return this.enter(half, st, HTTP, buf, pos, frame, seconds, nanos, vlan)
      // any method on a fresh stream; after a hole or mid-stream, only known ones (see stream.ts EDGE)
      if (st.fresh ? isSipStart(rest) : isKnownSipStart(rest))
        return this.enter(half, st, SIP, buf, pos, frame, seconds, nanos, vlan)
      // a first line not complete yet: wait for it
      if (buf.indexOf(LF, pos) < 0 && len - pos <= MAX_FIRST_LINE && couldStartLine(buf, pos))
        return this.hold(st, buf, pos)
      if (!st.fresh && looksLikeDataFrame(rest, isSipStart))
        return this.enter(half, st, WS, buf, pos, frame, seconds, nanos, vlan)
      st.edge = false
    }
    // not at a start: search for the next SIP start line (at a line start) or HEP3 magic
    const from = edge ? pos + 1 : pos
    const lineStart = !edge && (pos > 0 || st.lineStart)
    const s = findSipStart(buf, from, lineStart ? LINE_START : MID_LINE)
    const h = buf.indexOf('HEP3', from, 'latin1')
    const at = s < 0 ? h : h < 0 ? s : Math.min(s, h)
    if (at >= 0) {
      this.counts.resyncBytes += at - pos
      return this.enter(half, st, at === h ? HEP : SIP, buf, at, frame, seconds, nanos, vlan)
    }
    // nothing yet: keep the last line (it may become a start line) or the last 3 bytes ("HEP")
    const lineKeep = tailLineStart(buf, from, lineStart ? LINE_START : MID_LINE)
    let keep = lineKeep
    if (keep > len - 3) keep = Math.max(from, len - 3)
    st.searched += keep - pos
    this.counts.resyncBytes += keep - pos
    if (st.searched > (st.fresh ? STREAM_SEARCH_BUDGET_FRESH : STREAM_SEARCH_BUDGET)) {
      st.mode = OTHER
      this.counts.otherStreams++
      this.skip('TCP stream not SIP/HEP')
      return
    }
    if (keep < len) {
      st.lineStart = keep === lineKeep
      this.hold(st, buf, keep)
    } else st.lineStart = buf[len - 1] === LF
  }

  /** keeps buf[from..] (copied) until more bytes arrive */
  private hold(st: StreamState, buf: Buffer, from: number): void {
    const rest = Buffer.allocUnsafe(buf.length - from)
    buf.copy(rest, 0, from)
    st.pending = rest
  }

  private enter(
    half: TcpHalf<StreamState>,
    st: StreamState,
    mode: number,
    buf: Buffer,
    at: number,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    st.mode = mode
    st.edge = false
    const rest = at === 0 ? buf : buf.subarray(at)
    switch (mode) {
      case SIP: {
        this.counts.sipStreams++
        st.sip = new SipStreamFramer()
        const msgs = this.sipOut
        st.sip.push(rest, msgs)
        if (msgs.length > 0) this.emitSip(half, msgs, frame, seconds, nanos, vlan)
        return
      }
      case HEP:
        this.counts.hepStreams++
        st.hep = new Hep3Framer()
        this.pushHep(half, st, rest, frame, seconds, nanos, vlan)
        return
      case WS:
        this.counts.webSocketStreams++
        st.ws = new WebSocketFramer()
        this.pushWs(half, st, rest, frame, seconds, nanos, vlan)
        return
      default:
        this.handshake(half, st, rest, frame, seconds, nanos, vlan)
    }
  }

  /** HTTP: waits for the whole head; a WebSocket upgrade (or its 101) switches to WebSocket frames. */
  private handshake(
    half: TcpHalf<StreamState>,
    st: StreamState,
    data: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    const buf = takePending(st, data)
    const n = webSocketHandshake(buf)
    if (n === HANDSHAKE_INCOMPLETE) return this.hold(st, buf, 0)
    if (n === HANDSHAKE_NOT_WEBSOCKET) {
      st.mode = OTHER
      this.counts.otherStreams++
      this.skip('TCP stream not SIP/HEP')
      return
    }
    st.mode = WS
    this.counts.webSocketStreams++
    st.ws = new WebSocketFramer()
    if (n < buf.length) this.pushWs(half, st, buf.subarray(n), frame, seconds, nanos, vlan)
  }

  // ---------------------------------------------------------------- framers -> messages

  private pushHep(
    half: TcpHalf<StreamState>,
    st: StreamState,
    data: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    const f = st.hep!
    const before = f.buffered
    const frames = f.push(data, this.onHepError)
    const after = f.buffered
    if (after > 0 && before === 0 && after <= data.length) {
      // the framer holds a view of `data` (the capture's read buffer): make it hold a copy
      const tail = Buffer.allocUnsafe(after)
      data.copy(tail, 0, data.length - after)
      f.reset()
      f.push(tail, this.onHepError)
    }
    for (let i = 0; i < frames.length; i++) {
      this.emit(
        'hep',
        'tcp',
        half.ipVersion,
        half.src,
        half.dst,
        half.srcPort,
        half.dstPort,
        frame,
        seconds,
        nanos,
        vlan,
        frames[i],
        undefined,
      )
    }
  }

  private pushWs(
    half: TcpHalf<StreamState>,
    st: StreamState,
    data: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    const msgs = this.wsOut
    st.ws!.push(data, msgs)
    for (let i = 0; i < msgs.length; i++) {
      const p = msgs[i].payload
      const c = classifyMessage(p)
      const kind = c === undefined ? undefined : c === 'hep' ? 'hep' : 'sip'
      const sip = c === 'hep' ? undefined : c
      if (kind === undefined) this.skip('WebSocket message not SIP')
      else
        this.emit(
          kind,
          'tcp',
          half.ipVersion,
          half.src,
          half.dst,
          half.srcPort,
          half.dstPort,
          frame,
          seconds,
          nanos,
          vlan,
          p,
          sip,
        )
    }
    msgs.length = 0
  }

  private emitSip(
    half: TcpHalf<StreamState>,
    msgs: SipStreamMessage[],
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]
      this.emit(
        'sip',
        'tcp',
        half.ipVersion,
        half.src,
        half.dst,
        half.srcPort,
        half.dstPort,
        frame,
        seconds,
        nanos,
        vlan,
        m.payload,
        m.sip,
      )
    }
    msgs.length = 0
  }

  private emit(
    kind: 'sip' | 'hep',
    transport: 'tcp' | 'sctp',
    ipVersion: 4 | 6,
    src: string,
    dst: string,
    srcPort: number,
    dstPort: number,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
    payload: Buffer,
    sip: SipInfo | undefined,
  ): void {
    const want = this.want
    if (kind === 'sip' && want === 'hep') return this.skip('SIP (not HEP)')
    if (kind === 'hep' && want === 'sip') return this.skip('HEP (not SIP)')
    if (kind === 'sip') this.stats.sip++
    else this.stats.hep++
    // the same shape as the UDP messages of extract.ts
    this.out.push({
      frame,
      seconds,
      nanos,
      transport,
      ipVersion,
      src,
      dst,
      srcPort,
      dstPort,
      vlan,
      payload,
      kind,
      sip,
    })
  }

  private skip(reason: string): void {
    const s = this.stats.skipped
    s[reason] = (s[reason] ?? 0) + 1
  }
}
