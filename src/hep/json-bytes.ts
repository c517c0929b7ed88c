/**
 * A packet's JSON line written straight into an output buffer as UTF-8 bytes: the hot path of
 * `listen --json` and `decode --json`. The bytes are exactly those of `toJsonLine(p) + suffix`
 * (tests compare the two), but no intermediate strings are built for the payload, the line is never
 * flattened or re-encoded, and many lines share one buffer handed to the stream in one write.
 */
import { isUtf8 } from 'node:buffer'
import { byteKernels, ESCAPE_MAX } from './byte-kernels.js'
import { scalarWriterGenerated } from './codegen.js'
import { isoTime, numText, SCALAR_DEFS, type IsoCache } from './json-fields.js'
import type { HepPacket } from './packet.js'

/** Where the bytes go: `buf` from `pos` on; `room(n)` makes `n` bytes free there (it may swap `buf`). */
export interface ByteOut {
  buf: Buffer
  pos: number
  room(n: number): void
  /** the date part of the last second written, kept by long-lived outputs */
  iso?: IsoCache
}

/** Bytes a number can take as JSON text (with its key, up to 24 characters). */
const NUMBER_ROOM = 64

/** Writes a non-negative integer below 2^32 as digits; any other number as JSON.stringify does. */
function num(b: Buffer, o: number, v: number): number {
  if (v >= 0 && v <= 0xffffffff && v === Math.floor(v)) {
    let len = 1
    for (let t = v; t >= 10; t = (t / 10) >>> 0) len++
    let x = v
    for (let i = o + len - 1; i >= o; i--) {
      b[i] = 48 + (x % 10)
      x = (x / 10) >>> 0
    }
    return o + len
  }
  return o + b.write(numText(v), o, 'latin1')
}

/** A JSON string: printable ASCII is copied as is, anything else goes through JSON.stringify. */
function str(b: Buffer, o: number, s: string): number {
  const start = o
  b[o++] = 34
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) {
      return start + b.write(JSON.stringify(s), start, 'utf8')
    }
    b[o++] = c
  }
  b[o++] = 34
  return o
}

/** Room a JSON string of `s` may take: 6 bytes per UTF-16 unit (\u001f) and the quotes. */
const strRoom = (s: string): number => 6 * s.length + NUMBER_ROOM

/** Writes `text` (ASCII, no escapes needed) byte by byte. */
function ascii(b: Buffer, o: number, text: string): number {
  for (let i = 0; i < text.length; i++) b[o++] = text.charCodeAt(i)
  return o
}

/** 1 for the bytes JSON.stringify copies as they are: printable ASCII and DEL, but not " and \\ */
const PLAIN = new Uint8Array(256)
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === 0x22 || c === 0x5c ? 0 : 1

/** Payloads shorter than this are escaped in JavaScript: the copies in and out would cost more. */
const KERNEL_FROM = 48

/**
 * The payload as a JSON string: ASCII bytes are escaped as JSON.stringify escapes them (\r, \n, \",
 * \\, \b, \t, \f, \u00XX); other UTF-8 goes through JSON.stringify; bytes that are not UTF-8 as base64
 * with "payloadEncoding". `o` is just after `,"payload":`. The ASCII case runs in WebAssembly where
 * it can (byte-kernels.ts), else in payloadAscii.
 */
function payload(b: Buffer, o: number, src: Buffer): number {
  const n = src.length
  if (n >= KERNEL_FROM && n <= ESCAPE_MAX) {
    const k = byteKernels()
    if (k !== undefined) {
      b[o] = 34
      const end = k.escapeAscii(src, b, o + 1)
      if (end < 0) return payloadSlow(b, o, src)
      b[end] = 34
      return end + 1
    }
  }
  return payloadAscii(b, o, src)
}

/** payload() in JavaScript: byte by byte, four at a time while all four are copied as they are. */
export function payloadAscii(b: Buffer, o: number, src: Buffer): number {
  const start = o
  b[o++] = 34
  const n = src.length
  let i = 0
  while (i < n) {
    // four bytes at a time while all four are copied as they are (most of a SIP message)
    if (i + 4 <= n) {
      const c0 = src[i]
      const c1 = src[i + 1]
      const c2 = src[i + 2]
      const c3 = src[i + 3]
      if ((PLAIN[c0] & PLAIN[c1] & PLAIN[c2] & PLAIN[c3]) === 1) {
        b[o] = c0
        b[o + 1] = c1
        b[o + 2] = c2
        b[o + 3] = c3
        o += 4
        i += 4
        continue
      }
    }
    const c = src[i++]
    if (PLAIN[c] === 1) {
      b[o++] = c
      continue
    }
    if (c > 0x7f) return payloadSlow(b, start, src)
    b[o++] = 92
    if (c === 13) b[o++] = 114
    else if (c === 10) b[o++] = 110
    else if (c === 34 || c === 92) b[o++] = c
    else if (c === 9) b[o++] = 116
    else if (c === 8) b[o++] = 98
    else if (c === 12) b[o++] = 102
    else {
      b[o++] = 117
      b[o++] = 48
      b[o++] = 48
      b[o++] = 48 + (c >> 4)
      const d = c & 15
      b[o++] = d < 10 ? 48 + d : 87 + d
    }
  }
  b[o++] = 34
  return o
}

function payloadSlow(b: Buffer, o: number, src: Buffer): number {
  if (isUtf8(src)) return o + b.write(JSON.stringify(src.toString('utf8')), o, 'utf8')
  o = ascii(b, o, '"')
  o += b.write(src.toString('base64'), o, 'latin1')
  return ascii(b, o, '","payloadEncoding":"base64"')
}

/** Room the payload may take: 6 bytes per byte (\u0000; base64 and UTF-8 take less), quotes, key. */
const payloadRoom = (src: Buffer): number => 6 * src.length + NUMBER_ROOM

/** Each scalar field's definition (its accessor reads the field) and its key as bytes, in order. */
const SCALARS: readonly { d: (typeof SCALAR_DEFS)[number]; key: Buffer }[] = SCALAR_DEFS.map((d) => ({
  d,
  key: Buffer.from(`,"${d.field}":`, 'latin1'),
}))

/**
 * The scalar fields in toJson's order: numbers as digits, text as JSON strings. The typed reference
 * of the generated writer used on the hot path (codegen.ts scalarWriterGenerated).
 */
export function writeScalarsTyped(p: HepPacket, w: ByteOut): void {
  for (let i = 0; i < SCALARS.length; i++) {
    const { d, key } = SCALARS[i]
    const v = d.get(p)
    if (v === undefined) continue
    const room = typeof v === 'number' ? NUMBER_ROOM : strRoom(v as string)
    if (w.pos + room > w.buf.length) w.room(room)
    const b = w.buf
    b.set(key, w.pos)
    const o = w.pos + key.length
    w.pos = typeof v === 'number' ? num(b, o, v) : str(b, o, v as string)
  }
}

/** The scalar writer of every JSON line: the generated one (see codegen.ts for why). */
const scalars = scalarWriterGenerated({ num, str, strRoom })

/** The number and string writers the scalar writers share (exported for the property test). */
export { num as jsonNum, str as jsonStr, strRoom as jsonStrRoom }

/** Makes `n` bytes free at w.pos and returns the buffer (w.pos is where to write). */
function need(w: ByteOut, n: number): Buffer {
  if (w.pos + n > w.buf.length) w.room(n)
  return w.buf
}

/**
 * Appends `toJsonLine(p, undefined, suffix)` and a newline to `w`, as UTF-8. `suffix` is JSON text
 * the caller made once (',"via":{…}'), already encoded.
 */
export function writeJsonLine(p: HepPacket, w: ByteOut, suffix?: Uint8Array): void {
  let b = need(w, 2 * NUMBER_ROOM)
  let o = ascii(b, w.pos, '{"version":')
  o = num(b, o, p.version)
  if (p.timeSeconds !== undefined) {
    o = ascii(b, o, ',"time":')
    o = str(b, o, isoTime(p.timeSeconds, p.timeUseconds ?? 0, w.iso))
  }
  w.pos = o
  scalars(p, w)
  if (p.payload !== undefined) {
    b = need(w, payloadRoom(p.payload))
    o = ascii(b, w.pos, ',"payload":')
    w.pos = payload(b, o, p.payload)
  }
  if (p.compressedPayload !== undefined) {
    b = need(w, 2 * p.compressedPayload.length + NUMBER_ROOM)
    o = ascii(b, w.pos, ',"compressedPayload":"')
    o += b.write(p.compressedPayload.toString('base64'), o, 'latin1')
    b[o++] = 34
    w.pos = o
  }
  if (p.chunks !== undefined) {
    b = need(w, 16)
    w.pos = ascii(b, w.pos, ',"chunks":[')
    for (let i = 0; i < p.chunks.length; i++) {
      const c = p.chunks[i]
      if (typeof c === 'number') {
        b = need(w, NUMBER_ROOM)
        o = w.pos
        if (i > 0) b[o++] = 44
        w.pos = num(b, o, c)
      } else {
        b = need(w, 2 * c.value.length + 3 * NUMBER_ROOM)
        o = w.pos
        if (i > 0) b[o++] = 44
        o = ascii(b, o, '{"vendor":')
        o = num(b, o, c.vendor)
        o = ascii(b, o, ',"type":')
        o = num(b, o, c.type)
        o = ascii(b, o, ',"hex":"')
        o += b.write(c.value.toString('hex'), o, 'latin1')
        b[o++] = 34
        b[o++] = 125
        w.pos = o
      }
    }
    b = need(w, 1)
    b[w.pos++] = 93
  }
  b = need(w, 2 * NUMBER_ROOM + (suffix?.length ?? 0) + 2)
  o = w.pos
  if (p.hdrLen !== undefined) o = num(b, ascii(b, o, ',"hdrLen":'), p.hdrLen)
  if (p.v2Padding !== undefined) o = num(b, ascii(b, o, ',"v2Padding":'), p.v2Padding)
  if (suffix !== undefined) {
    b.set(suffix, o)
    o += suffix.length
  }
  b[o++] = 125
  b[o++] = 10
  w.pos = o
}

/** A ByteOut over one growing buffer (for a single line). */
class LineBuffer implements ByteOut {
  buf = Buffer.allocUnsafe(1024)
  pos = 0
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + n))
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }
}

/**
 * One compact JSON line (no newline) as text: exactly JSON.stringify(toJson(p)), plus the `extra` keys
 * (e.g. listen's "via") at the end, then `rawSuffix`: JSON text the caller made (',"key":value').
 * The text of what writeJsonLine writes.
 */
export function toJsonLine(p: HepPacket, extra?: Record<string, unknown>, rawSuffix = ''): string {
  let suffix = ''
  if (extra !== undefined) {
    for (const k of Object.keys(extra)) {
      if (extra[k] !== undefined) suffix += ',' + JSON.stringify(k) + ':' + JSON.stringify(extra[k])
    }
  }
  suffix += rawSuffix
  const out = new LineBuffer()
  writeJsonLine(p, out, suffix === '' ? undefined : Buffer.from(suffix, 'utf8'))
  return out.buf.toString('utf8', 0, out.pos - 1)
}
