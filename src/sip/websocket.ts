/**
 * SIP over WebSocket (RFC 7118) as seen in a capture: the HTTP/1.1 upgrade handshake (RFC 6455
 * section 4), then WebSocket frames (section 5) in each direction. Each WebSocket message (one text or
 * binary frame, or a first frame and its continuation frames) carries exactly one SIP message
 * (RFC 7118 section 5.2), so no Content-Length framing is needed.
 *
 * Masked frames (client to server) are unmasked into a copy; an unmasked message in one frame within
 * one pushed chunk is handed out as a view. Control frames (close, ping, pong) are skipped and
 * counted, also between the fragments of a message. Frames with RSV bits set (a negotiated extension
 * such as permessage-deflate) cannot be read without the extension's state: their messages are
 * dropped and counted.
 */

export interface WebSocketMessage {
  payload: Buffer
  /** opcode 2 (binary) rather than 1 (text) */
  binary: boolean
}

export interface WebSocketFramerOptions {
  /** largest message accepted; a longer one is skipped. Default 256 KiB */
  maxMessageLength?: number
}

export const DEFAULT_WS_MAX_MESSAGE = 256 * 1024
/** longest handshake (request or response head) waited for */
export const MAX_HANDSHAKE = 16 * 1024

export const HANDSHAKE_INCOMPLETE = -1
export const HANDSHAKE_NOT_WEBSOCKET = -2

const OP_CONT = 0
const OP_TEXT = 1
const OP_BINARY = 2
const OP_CLOSE = 8
const OP_PING = 9
const OP_PONG = 10

/** Does `buf` start like an HTTP/1.x request or response ("GET " or "HTTP/1.")? */
export function isHttpStart(buf: Buffer): boolean {
  if (buf.length < 5) return false
  if (buf[0] === 0x47 && buf[1] === 0x45 && buf[2] === 0x54 && buf[3] === 0x20) return true
  return buf.length >= 7 && buf.toString('latin1', 0, 7) === 'HTTP/1.'
}

/**
 * The HTTP head at the start of `buf`: its length (through the blank line) when it is a WebSocket
 * upgrade request (GET with `Upgrade: websocket`) or the 101 response to one; HANDSHAKE_INCOMPLETE
 * when the blank line has not arrived yet; HANDSHAKE_NOT_WEBSOCKET otherwise.
 */
export function webSocketHandshake(buf: Buffer): number {
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1')
  if (end < 0) return buf.length > MAX_HANDSHAKE ? HANDSHAKE_NOT_WEBSOCKET : HANDSHAKE_INCOMPLETE
  const head = buf.toString('latin1', 0, end + 2)
  const upgrade = /\r\nupgrade[ \t]*:[^\r\n]*\bwebsocket\b/i.test(head)
  if (/^GET \S+ HTTP\/1\.\d\r\n/.test(head)) return upgrade ? end + 4 : HANDSHAKE_NOT_WEBSOCKET
  // the 101 response; its Upgrade header is mandatory, but the status alone is proof enough
  if (/^HTTP\/1\.\d 101[ \r]/.test(head)) return end + 4
  return HANDSHAKE_NOT_WEBSOCKET
}

/**
 * Is buf[0..] a WebSocket data frame (text or binary, RSV 0, FIN or not) whose payload begins with
 * `prefix` (unmasked as needed)? Used to pick up a WebSocket stream without its handshake, where the
 * first frame carries the start of a SIP message.
 */
export function looksLikeDataFrame(buf: Buffer, check: (payloadStart: Buffer) => boolean): boolean {
  if (buf.length < 2) return false
  const b0 = buf[0]
  const op = b0 & 0x0f
  if ((b0 & 0x70) !== 0 || (op !== OP_TEXT && op !== OP_BINARY)) return false
  const b1 = buf[1]
  const l7 = b1 & 0x7f
  let hl = 2 + (l7 === 126 ? 2 : l7 === 127 ? 8 : 0)
  const masked = (b1 & 0x80) !== 0
  const maskAt = hl
  if (masked) hl += 4
  if (buf.length < hl + 12) return false
  let plen = l7
  if (l7 === 126) plen = buf.readUInt16BE(2)
  else if (l7 === 127) {
    if (buf.readUInt32BE(2) !== 0) return false
    plen = buf.readUInt32BE(6)
  }
  if (plen < 12) return false
  const n = Math.min(plen, buf.length - hl, 512)
  const head = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) head[i] = masked ? buf[hl + i] ^ buf[maskAt + (i & 3)] : buf[hl + i]
  return check(head)
}

export class WebSocketFramer {
  readonly maxMessageLength: number
  /** control frames (close, ping, pong) skipped */
  controlFrames = 0
  /** messages dropped incomplete: cut by a hole, by a close, or at the end of the stream */
  dropped = 0
  /** messages skipped whole: longer than maxMessageLength, or compressed (RSV bits) */
  unreadable = 0
  /** frames that broke the protocol (bad opcode, a continuation with no message...) */
  protocolErrors = 0
  /** a close frame was seen: nothing after it is read */
  closed = false
  /** header bytes of a frame not complete yet (owned copy, < 14 bytes) */
  private pending: Buffer | undefined = undefined
  /** payload bytes still to come for the frame in progress */
  private need = 0
  /** the frame in progress: its unmasked payload (undefined when it is skipped) */
  private frame: Buffer | undefined = undefined
  private fill = 0
  private masked = false
  private m0 = 0
  private m1 = 0
  private m2 = 0
  private m3 = 0
  private fin = false
  private control = false
  /** the message in progress: its fragments so far */
  private parts: Buffer[] = []
  private partsLength = 0
  private inMessage = false
  private binary = false
  /** the message in progress is being skipped (too long, compressed) */
  private skipping = false
  /** lost sync (a hole): frames are looked for at the start of the next chunk only */
  private lost = false

  constructor(options: WebSocketFramerOptions = {}) {
    this.maxMessageLength = options.maxMessageLength ?? DEFAULT_WS_MAX_MESSAGE
  }

  get buffered(): number {
    return (this.pending?.length ?? 0) + (this.frame?.length ?? 0) + this.partsLength
  }

  /** Bytes of one direction after its handshake; completed messages are appended to `out`. */
  push(chunk: Buffer, out: WebSocketMessage[]): void {
    if (this.closed) return
    if (this.lost) {
      // after a hole: resume only if this chunk starts with a plausible frame header
      if (!this.plausibleHeader(chunk)) return
      this.lost = false
    }
    let data = chunk
    if (this.pending !== undefined) {
      data = Buffer.concat([this.pending, chunk])
      this.pending = undefined
    }
    const len = data.length
    let pos = 0
    while (pos < len) {
      if (this.need > 0) {
        const take = Math.min(this.need, len - pos)
        const f = this.frame
        if (f !== undefined) {
          if (this.masked) this.unmask(data, pos, take, f)
          else data.copy(f, this.fill, pos, pos + take)
        }
        this.fill += take
        this.need -= take
        pos += take
        if (this.need > 0) break
        this.frameDone(out)
        continue
      }
      if (len - pos < 2) break
      const b0 = data[pos]
      const b1 = data[pos + 1]
      const l7 = b1 & 0x7f
      const masked = (b1 & 0x80) !== 0
      const hl = 2 + (l7 === 126 ? 2 : l7 === 127 ? 8 : 0) + (masked ? 4 : 0)
      if (len - pos < hl) break
      let plen = l7
      let p = pos + 2
      if (l7 === 126) {
        plen = (data[p] << 8) | data[p + 1]
        p += 2
      } else if (l7 === 127) {
        const hi = data.readUInt32BE(p)
        plen = hi * 0x100000000 + data.readUInt32BE(p + 4)
        p += 8
        if (hi >= 0x200000) {
          this.broken()
          return
        }
      }
      if (masked) {
        this.m0 = data[p]
        this.m1 = data[p + 1]
        this.m2 = data[p + 2]
        this.m3 = data[p + 3]
      }
      pos += hl
      const op = b0 & 0x0f
      const fin = (b0 & 0x80) !== 0
      this.masked = masked
      this.fin = fin
      if (op >= 8) {
        if ((op !== OP_CLOSE && op !== OP_PING && op !== OP_PONG) || !fin || plen > 125) {
          this.broken()
          return
        }
        this.controlFrames++
        if (op === OP_CLOSE) {
          this.dropIncomplete()
          this.closed = true
          return
        }
        this.control = true
        this.startFrame(plen, true)
      } else {
        this.control = false
        if (op === OP_TEXT || op === OP_BINARY) {
          if (this.inMessage) {
            // a new message before the last one ended
            this.protocolErrors++
            this.dropIncomplete()
          }
          this.inMessage = true
          this.binary = op === OP_BINARY
          this.skipping = (b0 & 0x70) !== 0
        } else if (op !== OP_CONT) {
          this.broken()
          return
        } else if (!this.inMessage) {
          // a continuation of a message we never saw the start of (after a hole)
          this.inMessage = true
          this.skipping = true
        }
        if (!this.skipping && this.partsLength + plen > this.maxMessageLength) this.skipping = true
        // the common case: an unmasked single-frame message that is all here is a view
        if (fin && !masked && !this.skipping && this.parts.length === 0 && len - pos >= plen) {
          out.push({ payload: data.subarray(pos, pos + plen), binary: this.binary })
          this.inMessage = false
          pos += plen
          continue
        }
        this.startFrame(plen, this.skipping)
      }
      if (this.need === 0) this.frameDone(out)
    }
    if (pos < len && this.need === 0) {
      const rest = Buffer.allocUnsafe(len - pos)
      data.copy(rest, 0, pos, len)
      this.pending = rest
    }
  }

  /** A hole in the stream: the message in progress is dropped; frames are looked for again. */
  gap(): void {
    this.dropIncomplete()
    this.pending = undefined
    this.need = 0
    this.frame = undefined
    this.lost = true
  }

  /** End of the stream: drops the message in progress; returns the bytes it held. */
  end(): number {
    const n = this.buffered
    this.dropIncomplete()
    this.pending = undefined
    this.frame = undefined
    this.need = 0
    return n
  }

  private startFrame(plen: number, skip: boolean): void {
    this.need = plen
    this.fill = 0
    this.frame = skip ? undefined : Buffer.allocUnsafe(plen)
  }

  private frameDone(out: WebSocketMessage[]): void {
    const f = this.frame
    this.frame = undefined
    if (this.control) return
    if (f !== undefined) {
      this.parts.push(f)
      this.partsLength += f.length
    }
    if (!this.fin) return
    if (this.skipping) this.unreadable++
    else {
      const parts = this.parts
      out.push({
        payload: parts.length === 1 ? parts[0] : Buffer.concat(parts, this.partsLength),
        binary: this.binary,
      })
    }
    this.parts = []
    this.partsLength = 0
    this.inMessage = false
    this.skipping = false
  }

  private unmask(data: Buffer, pos: number, n: number, f: Buffer): void {
    let k = this.fill
    const m0 = this.m0
    const m1 = this.m1
    const m2 = this.m2
    const m3 = this.m3
    for (let i = 0; i < n; i++, k++) {
      const j = k & 3
      f[k] = data[pos + i] ^ (j === 0 ? m0 : j === 1 ? m1 : j === 2 ? m2 : m3)
    }
  }

  private plausibleHeader(b: Buffer): boolean {
    if (b.length < 2) return false
    const op = b[0] & 0x0f
    return (b[0] & 0x70) === 0 && (op === OP_TEXT || op === OP_BINARY || op === OP_PING || op === OP_PONG)
  }

  private dropIncomplete(): void {
    if (this.inMessage) this.dropped++
    this.parts = []
    this.partsLength = 0
    this.inMessage = false
    this.skipping = false
  }

  /** not WebSocket framing any more (or never was): the rest of the direction is ignored */
  private broken(): void {
    this.protocolErrors++
    this.dropIncomplete()
    this.pending = undefined
    this.frame = undefined
    this.need = 0
    this.closed = true
  }
}
