/**
 * SIP framing on a byte stream (SIP over TCP, RFC 3261 section 18.3): messages are delimited by
 * their Content-Length, so one push may complete several messages, or a piece of one.
 *
 * - Content-Length, or its compact form `l:`, in any case (scanSip reads both).
 * - A message WITHOUT Content-Length is taken to have an empty body. RFC 3261 (sections 18.3 and
 *   20.14) makes the header mandatory on stream transports, so a sender that leaves it out sends no
 *   body as far as any stream receiver can tell (Kamailio and OpenSIPS do the same); whatever follows
 *   the blank line is the next message, or is skipped until one starts.
 * - CRLF keep-alives between messages (RFC 5626 section 4.4.1: CRLFCRLF ping, CRLF pong) are skipped
 *   and counted.
 * - Bytes that do not start a message (a stream picked up in the middle, a hole in the capture, a
 *   body longer than its Content-Length) are skipped up to the next SIP start line, found at the
 *   start of a line ("SIP/2.0 200 ..." or "METHOD uri SIP/2.0"); at a stream edge (the first byte
 *   seen, the first byte after a hole) the start line is also accepted at that very byte.
 *
 * Messages that lie within one pushed chunk are handed out as views into it (no copy); only a
 * message spread over several chunks is assembled, into one buffer allocated at its full size once
 * its header section is complete (so a 64 KiB message over 50 segments is copied once).
 */

import { isSipStart, scanSip, SIP_METHODS, type SipInfo } from './scan.js'

export interface SipStreamMessage {
  /** the whole message: start line, headers, blank line and Content-Length bytes of body */
  payload: Buffer
  sip: SipInfo
}

export interface SipStreamOptions {
  /** largest message (headers + body) accepted; a longer one is dropped and skipped. Default 256 KiB */
  maxMessageLength?: number
  /** longest header section waited for before the bytes are taken as not SIP. Default 64 KiB */
  maxHeaderLength?: number
  /** the stream may start in the middle of a message (a capture that began mid-connection) */
  midStream?: boolean
}

export const DEFAULT_SIP_MAX_MESSAGE = 256 * 1024
export const DEFAULT_SIP_MAX_HEADER = 64 * 1024
/** longest start line waited for */
const MAX_LINE = 8 * 1024

const CR = 13
const LF = 10

/** What the first byte of a search is: nothing special, the start of a line, or a stream edge. */
export const MID_LINE = 0
export const LINE_START = 1
/**
 * The first byte seen of a stream picked up mid-way, or the first after a hole: it may be anywhere,
 * so a start line is believed there only with a method of RFC 3261 or its extensions (a cut such as
 * "NVITE sip:..." or "ITE sip:..." is a well-formed request line with an unknown method).
 */
export const EDGE = 2

/**
 * Index of the first SIP start line in buf[from..] that begins a line: after an LF, or at `from`
 * itself as `at` says. -1 when there is none (an incomplete last line is not a start line yet: see
 * tailLineStart).
 */
export function findSipStart(buf: Buffer, from: number, at: number): number {
  if (from < buf.length && at !== MID_LINE) {
    if (at === EDGE ? isKnownStartAt(buf, from) : isStartAt(buf, from)) return from
  }
  let p = from
  for (;;) {
    // every start line holds "SIP/2.0": at its start (responses) or its end (requests)
    const v = buf.indexOf('SIP/2.0', p, 'latin1')
    if (v < 0) return -1
    const ls = v > 0 ? buf.lastIndexOf(LF, v - 1) + 1 : 0
    if ((ls > from || (ls === from && from > 0 && buf[from - 1] === LF)) && isStartAt(buf, ls)) return ls
    p = v + 7
  }
}

/** the methods of RFC 3261 and its extensions */
const KNOWN = new Set(SIP_METHODS)

/** A start line with a known method, or a status line (see EDGE). */
export function isKnownSipStart(b: Buffer): boolean {
  if (!scanStart(b)) return false
  const sp = b.indexOf(0x20)
  return b[0] === 0x53 && b[1] === 0x49 && b[2] === 0x50 && b[3] === 0x2f
    ? true
    : KNOWN.has(b.toString('latin1', 0, sp))
}

function isKnownStartAt(buf: Buffer, at: number): boolean {
  return isKnownSipStart(at === 0 ? buf : buf.subarray(at))
}

/** Where the last (incomplete) line of buf[from..] starts, if it could still become a start line. */
export function tailLineStart(buf: Buffer, from: number, at: number): number {
  const lf = buf.lastIndexOf(LF)
  let ls: number
  if (lf >= from) ls = lf + 1
  else if (at !== MID_LINE) ls = from
  else return buf.length
  return buf.length - ls <= MAX_LINE ? ls : buf.length
}

function isStartAt(buf: Buffer, at: number): boolean {
  return scanStart(at === 0 ? buf : buf.subarray(at))
}

/** the start line alone (no strings built): an ASCII letter first ("SIP/2.0" or a method), then isSipStart */
function scanStart(b: Buffer): boolean {
  const c = b[0] | 0x20
  return c >= 0x61 && c <= 0x7a && isSipStart(b)
}

export class SipStreamFramer {
  readonly maxMessageLength: number
  readonly maxHeaderLength: number
  /** keep-alive runs (CRLF / CRLFCRLF between messages) skipped */
  keepAlives = 0
  /** bytes skipped looking for a start line */
  skippedBytes = 0
  /** times the framer lost sync (bytes at a message boundary that were not a start line) */
  resyncs = 0
  /** messages dropped: longer than maxMessageLength, cut by a hole, or incomplete at the end */
  dropped = 0
  /** of `dropped`, the ones longer than maxMessageLength */
  tooLong = 0
  /** bytes not framed yet: an incomplete start line or header section (owned copy) */
  private pending: Buffer | undefined = undefined
  /** bytes of a message too long to keep still to be skipped */
  private discard = 0
  /** a message of known length being filled */
  private asm: Buffer | undefined = undefined
  private asmFill = 0
  private asmInfo: SipInfo | undefined = undefined
  /** at a message boundary (otherwise searching for a start line) */
  private sync: boolean
  /** what the next byte pushed is, while searching: MID_LINE, LINE_START or EDGE */
  private lineStart = LINE_START

  constructor(options: SipStreamOptions = {}) {
    this.maxMessageLength = options.maxMessageLength ?? DEFAULT_SIP_MAX_MESSAGE
    this.maxHeaderLength = options.maxHeaderLength ?? DEFAULT_SIP_MAX_HEADER
    this.sync = options.midStream !== true
    if (!this.sync) this.lineStart = EDGE
  }

  /** Bytes held for the message in progress. */
  get buffered(): number {
    return (this.pending?.length ?? 0) + (this.asm?.length ?? 0)
  }

  /** Bytes of the stream that follow; the messages they complete are appended to `out`. */
  push(chunk: Buffer, out: SipStreamMessage[]): void {
    let data = chunk
    if (this.discard > 0) {
      const take = Math.min(this.discard, chunk.length)
      this.discard -= take
      this.skippedBytes += take
      if (take === chunk.length) return
      data = chunk = chunk.subarray(take)
    }
    const asm = this.asm
    if (asm !== undefined) {
      const take = Math.min(asm.length - this.asmFill, chunk.length)
      chunk.copy(asm, this.asmFill, 0, take)
      this.asmFill += take
      if (this.asmFill < asm.length) return
      out.push({ payload: asm, sip: this.asmInfo! })
      this.asm = undefined
      this.asmInfo = undefined
      this.lineStart = LINE_START
      if (take === chunk.length) return
      data = chunk.subarray(take)
    } else if (this.pending !== undefined) {
      data = Buffer.concat([this.pending, chunk])
      this.pending = undefined
    }
    const len = data.length
    let pos = 0
    let lineStart = this.lineStart
    while (pos < len) {
      if (!this.sync) {
        const s = findSipStart(data, pos, lineStart)
        if (s < 0) {
          // keep the last line if it may still become a start line
          const keep = tailLineStart(data, pos, lineStart)
          this.skippedBytes += keep - pos
          if (keep < len) {
            if (keep !== pos) lineStart = LINE_START
          } else lineStart = data[len - 1] === LF ? LINE_START : MID_LINE
          pos = keep
          break
        }
        this.skippedBytes += s - pos
        pos = s
        this.sync = true
      }
      const c = data[pos]
      if (c === CR || c === LF) {
        let k = pos + 1
        while (k < len && (data[k] === CR || data[k] === LF)) k++
        this.keepAlives++
        pos = k
        lineStart = LINE_START
        continue
      }
      const info = scanSip(pos === 0 ? data : data.subarray(pos))
      if (info === undefined) {
        // not a start line, or one not complete yet
        if (data.indexOf(LF, pos) < 0 && len - pos <= MAX_LINE) break
        this.lose()
        pos++
        lineStart = MID_LINE
        continue
      }
      const hl = info.headerLength
      if (hl < 0) {
        if (len - pos <= this.maxHeaderLength) break
        this.lose()
        pos++
        lineStart = MID_LINE
        continue
      }
      // no Content-Length (or not a number): an empty body, see the comment at the top
      const total = hl + (info.contentLength ?? 0)
      if (total > this.maxMessageLength) {
        // its length is known: skip exactly that, staying in sync
        this.dropped++
        this.tooLong++
        const have = Math.min(total, len - pos)
        this.skippedBytes += have
        this.discard = total - have
        pos += have
        lineStart = LINE_START
        continue
      }
      if (len - pos >= total) {
        out.push({ payload: data.subarray(pos, pos + total), sip: info })
        pos += total
        lineStart = LINE_START
        continue
      }
      const a = Buffer.allocUnsafe(total)
      data.copy(a, 0, pos, len)
      this.asm = a
      this.asmFill = len - pos
      this.asmInfo = info
      this.lineStart = LINE_START
      return
    }
    this.lineStart = lineStart
    if (pos < len) {
      const rest = Buffer.allocUnsafe(len - pos)
      data.copy(rest, 0, pos, len)
      this.pending = rest
    }
  }

  /**
   * Bytes of the stream were lost (a hole in the capture): the message in progress is dropped and
   * the framer resynchronises; the first byte after the hole may itself start a message.
   */
  gap(): void {
    this.dropIncomplete()
    this.discard = 0
    this.sync = false
    this.lineStart = EDGE
  }

  /** End of the stream: drops the message in progress. Returns how many bytes it held. */
  end(): number {
    const n = this.buffered
    this.dropIncomplete()
    return n
  }

  private dropIncomplete(): void {
    if (this.asm !== undefined || (this.sync && this.pending !== undefined && this.pending.length > 0)) {
      // a message was started (a partial line at a boundary counts as one too)
      this.dropped++
    } else if (this.pending !== undefined) this.skippedBytes += this.pending.length
    this.asm = undefined
    this.asmInfo = undefined
    this.pending = undefined
  }

  /** the byte at the boundary does not start a message: search for the next start line after it */
  private lose(): void {
    this.resyncs++
    this.skippedBytes++
    this.sync = false
  }
}
