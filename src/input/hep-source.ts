/**
 * HEP packets from an input in a HEP format (raw, hex, JSON lines), as items that carry either a
 * packet or the error that kept one from decoding, each with its origin (line or byte offset).
 * A bad packet never stops the stream: the caller reports it and goes on.
 */
import type { Readable } from 'node:stream'
import { DecodeError, HepError } from '../errors.js'
import { decode, decodeDatagram, detectVersion, encodingLength, type DecodeOptions } from '../hep/codec.js'
import { Hep3Framer } from '../hep/framer.js'
import { byteKernels } from '../hep/byte-kernels.js'
import { Ipv4Texts } from '../hep/ip.js'
import { fromJson } from '../hep/json.js'
import type { HepPacket } from '../hep/packet.js'
import { asHepError, makeItem, type HepItem, type Origin } from '../item/item.js'
import type { HepFormat } from './input.js'

export interface HepSourceOptions extends DecodeOptions {
  /** largest HEP3 packet accepted on a raw stream */
  maxLength?: number
}

/** A line longer than lineBatches' bound: its bytes were discarded as they came, only counted. */
export class OverlongLine {
  constructor(
    /** its length in bytes (without the newline) */
    readonly bytes: number,
  ) {}
}

/** Longest hex line read (a HEP packet is at most 65535 bytes: 131070 hex digits) */
export const MAX_HEX_LINE = 128 * 1024
/** Longest JSON line read (room for a 64 KiB payload however it is escaped) */
export const MAX_JSON_LINE = 1024 * 1024
/** The most a HEP packet can be: HEP3's total length is 16 bits, and v1/v2 go in one datagram */
export const MAX_PACKET = 0xffff

/**
 * The lines of one read as spans of a buffer: line k is `buf[at[2k], at[2k + 1])`, without its
 * newline and the \r of a CRLF; `at[2k]` -1 is a line over the bound, of `at[2k + 1]` bytes (dropped).
 */
export interface LineSpans {
  buf: Buffer
  at: number[]
}

/**
 * The lines of a byte stream as spans, one array per read: cut at newline bytes, so no UTF-8
 * character is ever split. With `maxBytes`, a longer line is only counted, and its bytes are dropped
 * as they arrive: memory stays within about `maxBytes` plus one read, however long the line.
 */
export async function* lineSpans(stream: Readable, maxBytes = Infinity): AsyncGenerator<LineSpans[]> {
  // the start of a line not ended yet, in pieces (joined once its newline comes: no quadratic copying)
  let pieces: Buffer[] = []
  let held = 0
  // >= 0 while inside a line over the bound: the bytes of it seen (and dropped) so far
  let skipped = -1
  for await (const c of stream) {
    const chunk = typeof c === 'string' ? Buffer.from(c, 'utf8') : (c as Buffer)
    const out: LineSpans[] = []
    const at: number[] = []
    let a = 0
    let nl = chunk.indexOf(10)
    if (skipped >= 0 || pieces.length > 0) {
      if (nl < 0) {
        if (skipped >= 0) skipped += chunk.length
        else if (held + chunk.length > maxBytes) {
          skipped = held + chunk.length
          pieces = []
          held = 0
        } else {
          pieces.push(chunk)
          held += chunk.length
        }
        continue
      }
      if (skipped >= 0) {
        at.push(-1, skipped + nl)
        skipped = -1
      } else if (held + nl > maxBytes) {
        at.push(-1, held + nl)
      } else {
        pieces.push(chunk.subarray(0, nl))
        const head = Buffer.concat(pieces)
        out.push({ buf: head, at: [0, lineEnd(head, 0, head.length)] })
      }
      pieces = []
      held = 0
      a = nl + 1
      nl = chunk.indexOf(10, a)
    }
    for (; nl >= 0; nl = chunk.indexOf(10, a)) {
      if (nl - a > maxBytes) at.push(-1, nl - a)
      else at.push(a, lineEnd(chunk, a, nl))
      a = nl + 1
    }
    if (a < chunk.length) {
      if (chunk.length - a > maxBytes) skipped = chunk.length - a
      else {
        pieces.push(chunk.subarray(a))
        held = chunk.length - a
      }
    }
    if (at.length > 0) out.push({ buf: chunk, at })
    if (out.length > 0) yield out
  }
  if (skipped >= 0) yield [{ buf: Buffer.alloc(0), at: [-1, skipped] }]
  else if (pieces.length > 0) {
    const rest = Buffer.concat(pieces)
    yield [{ buf: rest, at: [0, lineEnd(rest, 0, rest.length)] }]
  }
}

/**
 * The lines of a text stream, one array per read (readline's line breaks: \n, \r\n and a lone \r),
 * each decoded whole from UTF-8. With `maxBytes`, a longer line comes as an OverlongLine (lineSpans).
 */
export function lineBatches(stream: Readable): AsyncGenerator<string[]>
export function lineBatches(stream: Readable, maxBytes: number): AsyncGenerator<(string | OverlongLine)[]>
export async function* lineBatches(
  stream: Readable,
  maxBytes = Infinity,
): AsyncGenerator<(string | OverlongLine)[]> {
  for await (const batch of lineSpans(stream, maxBytes)) {
    const out: (string | OverlongLine)[] = []
    for (const { buf, at } of batch)
      for (let k = 0; k < at.length; k += 2) {
        if (at[k] < 0) out.push(new OverlongLine(at[k + 1]))
        else pushLine(out, buf.toString('utf8', at[k], at[k + 1]))
      }
    if (out.length > 0) yield out
  }
}

/** The error item of a line over the bound. */
function overlong(index: number, origin: Origin, line: OverlongLine, kind: string, max: number): HepItem {
  return makeItem(index, origin, {
    error: new HepError(
      'HEP_TOO_LONG',
      `a ${kind} line of ${line.bytes} bytes, over the ${max}-byte bound (a HEP packet is at most ${MAX_PACKET} bytes): skipped`,
    ),
  })
}

/** A packet bigger than any HEP packet can be: it could never be encoded again. */
function tooBig(bytes: number): HepError {
  return new HepError(
    'HEP_TOO_LONG',
    `a packet of ${bytes} bytes, over the ${MAX_PACKET} bytes a HEP packet can have: it cannot be encoded`,
  )
}

/** The end of the line b[a..end) without the \r of a CRLF */
const lineEnd = (b: Buffer, a: number, end: number): number => (end > a && b[end - 1] === 13 ? end - 1 : end)

/** A line that holds lone carriage returns is several lines (as readline sees it). */
function pushLine(out: (string | OverlongLine)[], line: string): void {
  if (line.includes('\r')) out.push(...line.split('\r'))
  else out.push(line)
}

const HEX_SEPARATORS = /[\s:]/g

const HEX_ONLY = /^[0-9a-fA-F]*$/

/**
 * One item per line of hex (a "0x" prefix, spaces and colons allowed; blank and # lines skipped).
 * A line of hex digits only (what we and tshark write) is decoded from the bytes read, in WebAssembly
 * where it can (byte-kernels.ts); any other line as text, tidied first.
 */
export async function* hexBatches(
  stream: Readable,
  name: string,
  opts: HepSourceOptions = {},
): AsyncGenerator<HepItem[]> {
  let lineNo = 0
  let index = 0
  const kernels = byteKernels()
  const packetItem = (raw: Buffer, origin: Origin): HepItem => {
    try {
      const packet = decodeDatagram(raw, opts)
      // (a HEP3 packet's length field keeps it within bounds; a v1/v2 one has none)
      if (raw.length > MAX_PACKET) return makeItem(index, origin, { raw, error: tooBig(raw.length) })
      return makeItem(index, origin, { raw, packet })
    } catch (e) {
      return makeItem(index, origin, { raw, error: asHepError(e) })
    }
  }
  for await (const batch of lineSpans(stream, MAX_HEX_LINE)) {
    const items: HepItem[] = []
    for (const { buf, at } of batch) {
      kernels?.load(buf)
      for (let k = 0; k < at.length; k += 2) {
        const a = at[k]
        if (a < 0) {
          lineNo++
          items.push(
            overlong(
              ++index,
              { source: name, line: lineNo },
              new OverlongLine(at[k + 1]),
              'hex',
              MAX_HEX_LINE,
            ),
          )
          continue
        }
        const end = at[k + 1]
        const fast =
          kernels !== undefined && end > a && (end - a) % 2 === 0 ? kernels.unhexLoaded(a, end) : undefined
        if (fast !== undefined) {
          lineNo++
          index++
          items.push(packetItem(fast, { source: name, line: lineNo }))
          continue
        }
        const lines: string[] = []
        pushLine(lines, buf.toString('utf8', a, end))
        for (const line of lines) {
          lineNo++
          const t = line.trim()
          if (t === '' || t.charCodeAt(0) === 35) continue
          index++
          const origin = { source: name, line: lineNo }
          // plain hex digits decode at once; anything else is tidied first
          let raw = Buffer.from(t, 'hex')
          if (raw.length * 2 !== t.length) {
            const hex = t.replace(/^0x/i, '').replace(HEX_SEPARATORS, '')
            if (hex.length % 2 !== 0 || !HEX_ONLY.test(hex)) {
              const bad = hex.search(/[^0-9a-fA-F]/)
              const why = bad >= 0 ? `not hex at column ${bad + 1}` : 'odd number of hex digits'
              items.push(makeItem(index, origin, { error: new HepError('INPUT_FORMAT', why) }))
              continue
            }
            raw = Buffer.from(hex, 'hex')
          }
          items.push(packetItem(raw, origin))
        }
      }
    }
    if (items.length > 0) yield items
  }
}

/**
 * JSON lines; lines of connection events (`listen --events`: an "event" key) and summaries
 * (`"summary": true`) are not packets and are skipped.
 */
export async function* jsonlBatches(stream: Readable, name: string): AsyncGenerator<HepItem[]> {
  let lineNo = 0
  let index = 0
  for await (const lines of lineBatches(stream, MAX_JSON_LINE)) {
    const items: HepItem[] = []
    for (const line of lines) {
      lineNo++
      if (typeof line !== 'string') {
        items.push(overlong(++index, { source: name, line: lineNo }, line, 'JSON', MAX_JSON_LINE))
        continue
      }
      const t = line.trim()
      if (t === '') continue
      const origin = { source: name, line: lineNo }
      let obj: unknown
      try {
        obj = JSON.parse(t)
      } catch (e) {
        items.push(
          makeItem(++index, origin, { error: new HepError('HEP_JSON', `not JSON: ${(e as Error).message}`) }),
        )
        continue
      }
      // not packets: connection events (listen --events) and summaries ({"summary":true,…}, every --json)
      if (
        obj !== null &&
        typeof obj === 'object' &&
        (typeof (obj as { event?: unknown }).event === 'string' ||
          (obj as { summary?: unknown }).summary === true)
      )
        continue
      index++
      try {
        const packet = fromJson(obj)
        const big = unencodable(packet)
        if (big) items.push(makeItem(index, origin, { error: big }))
        else items.push(makeItem(index, origin, { packet }))
      } catch (e) {
        items.push(makeItem(index, origin, { error: asHepError(e) }))
      }
    }
    if (items.length > 0) yield items
  }
}

/**
 * Raw input: back-to-back HEP3 packets (a HEP-over-TCP stream). A raw input that starts with a
 * HEP v1/v2 header holds one packet (v1/v2 have no length field): the whole input.
 */
export async function* rawBatches(
  stream: Readable,
  name: string,
  opts: HepSourceOptions = {},
): AsyncGenerator<HepItem[]> {
  const framer = new Hep3Framer({ maxLength: opts.maxLength })
  let index = 0
  let first = true
  const whole: Buffer[] = []
  let wholeBytes = 0
  let legacy = false
  for await (const c of stream) {
    const chunk = c as Buffer
    if (first && chunk.length > 0) {
      first = false
      const v = detectVersion(chunk, 0)
      legacy = v === 1 || v === 2
    }
    if (legacy) {
      // one v1/v2 packet: held only while it can still be one (a bigger input is reported, not kept)
      wholeBytes += chunk.length
      if (wholeBytes <= MAX_PACKET) whole.push(chunk)
      else whole.length = 0
      continue
    }
    // bad data, each error with where the framer met it and the bytes it had skipped by then
    const bad: { error: DecodeError; at: number; skipped: number }[] = []
    const start = framer.offset
    const skippedBefore = framer.skipped
    const packets = framer.push(chunk, (error) =>
      bad.push({ error, at: framer.offset, skipped: framer.skipped }),
    )
    // errors and packets in stream order, each packet at the byte it starts at: packets follow one
    // another, but for the bytes skipped after an error (or still skipped from the previous read)
    const items: HepItem[] = []
    const skippedAfter = (k: number): number =>
      (k + 1 < bad.length ? bad[k + 1].skipped : framer.skipped) - bad[k].skipped
    const badItem = (k: number): HepItem =>
      makeItem(++index, { source: name, byte: bad[k].error.offset }, { error: bad[k].error })
    let off = start + (bad.length > 0 ? bad[0].skipped : framer.skipped) - skippedBefore
    let k = 0
    for (const pkt of packets) {
      for (; k < bad.length && bad[k].at <= off; k++) {
        items.push(badItem(k))
        off = bad[k].at + skippedAfter(k)
      }
      const origin = { source: name, byte: off }
      try {
        items.push(makeItem(++index, origin, { raw: pkt, packet: decode(pkt, 0, pkt.length, opts) }))
      } catch (e) {
        items.push(makeItem(++index, origin, { raw: pkt, error: asHepError(e, off) }))
      }
      off += pkt.length
    }
    for (; k < bad.length; k++) items.push(badItem(k))
    if (items.length > 0) yield items
  }
  if (legacy) {
    if (wholeBytes > MAX_PACKET) {
      yield [makeItem(1, { source: name, byte: 0 }, { error: tooBig(wholeBytes) })]
      return
    }
    const raw = Buffer.concat(whole)
    try {
      yield [makeItem(1, { source: name, byte: 0 }, { raw, packet: decode(raw, 0, raw.length, opts) })]
    } catch (e) {
      yield [makeItem(1, { source: name, byte: 0 }, { raw, error: asHepError(e) })]
    }
    return
  }
  if (framer.buffered > 0) {
    const at = framer.offset
    yield [
      makeItem(
        ++index,
        { source: name, byte: at },
        {
          error: new DecodeError(
            'HEP_TRUNCATED',
            at,
            'packet',
            `input ends ${framer.buffered} bytes into a packet that needs ${framer.buffered + framer.needed}`,
          ),
        },
      ),
    ]
  }
}

/** Why a packet is too big ever to be encoded; undefined when it fits (other problems show when it is encoded). */
function unencodable(p: HepPacket): HepError | undefined {
  try {
    const n = encodingLength(p)
    return n > MAX_PACKET ? tooBig(n) : undefined
  } catch (e) {
    if (e instanceof HepError && e.code === 'HEP_TOO_LONG')
      return new HepError('HEP_TOO_LONG', `${e.message}: it cannot be encoded`)
    return undefined
  }
}

/**
 * Items from a stream whose format is known (pcap formats are handled by the capture module), one
 * array per read of the stream.
 */
export function hepSourceBatches(
  format: HepFormat,
  stream: Readable,
  name: string,
  opts: HepSourceOptions = {},
): AsyncGenerator<HepItem[]> {
  // one input, one decoding session: its addresses are formatted once
  const session: HepSourceOptions = { ...opts, addresses: opts.addresses ?? new Ipv4Texts() }
  switch (format) {
    case 'raw':
      return rawBatches(stream, name, session)
    case 'hex':
      return hexBatches(stream, name, session)
    case 'jsonl':
      return jsonlBatches(stream, name)
    default:
      throw new HepError('INPUT_FORMAT', `${name}: ${format} input is read by the capture reader`)
  }
}
