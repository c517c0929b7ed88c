/**
 * HEP packets from an input in any HEP format, as items that carry either a packet or the error that
 * kept one from decoding, each with its position ("capture.hex line 4", "dump.hep byte 1200").
 * A bad packet never stops the stream: the caller reports it and goes on.
 */
import type { Readable } from 'node:stream'
import { DecodeError, HepError } from '../errors.js'
import { decode, decodeDatagram, detectVersion, type DecodeOptions } from '../hep/codec.js'
import { Hep3Framer } from '../hep/framer.js'
import { fromJson } from '../hep/json.js'
import type { HepPacket } from '../hep/packet.js'
import type { SipInfo } from '../sip/scan.js'
import type { HepFormat } from './input.js'

export interface HepItem {
  /** 1-based number of the item in its input */
  index: number
  /** where it came from, for messages: "file.hex line 3", "stdin byte 120", "x.pcap frame 7" */
  where: string
  packet?: HepPacket
  /** the packet's bytes as received, when the input carried bytes (raw, hex, pcap) */
  raw?: Buffer
  error?: HepError
  /** what the SIP scan found in the payload, when the item came from a capture's SIP */
  sip?: SipInfo
  /** capture metadata when the packet came out of a pcap */
  capture?: {
    frame: number
    seconds: number
    nanos: number
    src: string
    dst: string
    srcPort: number
    dstPort: number
    transport: string
  }
}

export interface HepSourceOptions extends DecodeOptions {
  /** largest HEP3 packet accepted on a raw stream */
  maxLength?: number
}

/**
 * The lines of a text stream, one array per read (readline's line breaks: \n, \r\n and a lone \r).
 * Lines are cut at newline bytes and decoded whole, so no UTF-8 character is ever split.
 */
export async function* lineBatches(stream: Readable): AsyncGenerator<string[]> {
  // the start of a line not ended yet, in pieces (joined once its newline comes: no quadratic copying)
  let pieces: Buffer[] = []
  for await (const c of stream) {
    const chunk = typeof c === 'string' ? Buffer.from(c, 'utf8') : (c as Buffer)
    const out: string[] = []
    let a = 0
    let nl = chunk.indexOf(10)
    if (pieces.length > 0) {
      if (nl < 0) {
        pieces.push(chunk)
        continue
      }
      pieces.push(chunk.subarray(0, nl))
      const head = Buffer.concat(pieces)
      pieces = []
      pushLine(out, lineText(head, 0, head.length))
      a = nl + 1
      nl = chunk.indexOf(10, a)
    }
    for (; nl >= 0; nl = chunk.indexOf(10, a)) {
      pushLine(out, lineText(chunk, a, nl))
      a = nl + 1
    }
    if (a < chunk.length) pieces.push(chunk.subarray(a))
    if (out.length > 0) yield out
  }
  if (pieces.length > 0) {
    const rest = Buffer.concat(pieces)
    const out: string[] = []
    pushLine(out, lineText(rest, 0, rest.length))
    yield out
  }
}

/** b[a..end) as text, without the \r of a CRLF */
const lineText = (b: Buffer, a: number, end: number): string =>
  b.toString('utf8', a, end > a && b[end - 1] === 13 ? end - 1 : end)

/** A line that holds lone carriage returns is several lines (as readline sees it). */
function pushLine(out: string[], line: string): void {
  if (line.includes('\r')) out.push(...line.split('\r'))
  else out.push(line)
}

const HEX_SEPARATORS = /[\s:]/g

const HEX_ONLY = /^[0-9a-fA-F]*$/

/** One item per line of hex (a "0x" prefix, spaces and colons allowed; blank and # lines skipped). */
export async function* hexBatches(
  stream: Readable,
  name: string,
  opts: HepSourceOptions = {},
): AsyncGenerator<HepItem[]> {
  let lineNo = 0
  let index = 0
  for await (const lines of lineBatches(stream)) {
    const items: HepItem[] = []
    for (const line of lines) {
      lineNo++
      const t = line.trim()
      if (t === '' || t.charCodeAt(0) === 35) continue
      index++
      const where = `${name} line ${lineNo}`
      // plain hex digits (what we and tshark write) decode at once; anything else is tidied first
      let raw = Buffer.from(t, 'hex')
      if (raw.length * 2 !== t.length) {
        const hex = t.replace(/^0x/i, '').replace(HEX_SEPARATORS, '')
        if (hex.length % 2 !== 0 || !HEX_ONLY.test(hex)) {
          const bad = hex.search(/[^0-9a-fA-F]/)
          items.push({
            index,
            where,
            error: new HepError(
              'INPUT_FORMAT',
              bad >= 0 ? `not hex at column ${bad + 1}` : 'odd number of hex digits',
            ),
          })
          continue
        }
        raw = Buffer.from(hex, 'hex')
      }
      try {
        items.push({ index, where, raw, packet: decodeDatagram(raw, opts) })
      } catch (e) {
        items.push({ index, where, raw, error: asHepError(e) })
      }
    }
    if (items.length > 0) yield items
  }
}

/** JSON lines; lines of connection events (`listen --events`: an "event" key) are not packets and are skipped. */
export async function* jsonlBatches(stream: Readable, name: string): AsyncGenerator<HepItem[]> {
  let lineNo = 0
  let index = 0
  for await (const lines of lineBatches(stream)) {
    const items: HepItem[] = []
    for (const line of lines) {
      lineNo++
      const t = line.trim()
      if (t === '') continue
      const where = `${name} line ${lineNo}`
      let obj: unknown
      try {
        obj = JSON.parse(t)
      } catch (e) {
        items.push({
          index: ++index,
          where,
          error: new HepError('HEP_JSON', `not JSON: ${(e as Error).message}`),
        })
        continue
      }
      if (obj !== null && typeof obj === 'object' && typeof (obj as { event?: unknown }).event === 'string')
        continue
      index++
      try {
        items.push({ index, where, packet: fromJson(obj) })
      } catch (e) {
        items.push({ index, where, error: asHepError(e) })
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
  let legacy = false
  for await (const c of stream) {
    const chunk = c as Buffer
    if (first && chunk.length > 0) {
      first = false
      const v = detectVersion(chunk, 0)
      legacy = v === 1 || v === 2
    }
    if (legacy) {
      whole.push(chunk)
      continue
    }
    const errors: DecodeError[] = []
    const start = framer.offset
    const packets = framer.push(chunk, (e) => errors.push(e))
    // report errors and packets in stream order
    const items: HepItem[] = []
    let off = start
    for (const e of errors) items.push({ index: 0, where: `${name} byte ${e.offset}`, error: e })
    for (const pkt of packets) {
      const at = off
      off += pkt.length
      try {
        items.push({
          index: 0,
          where: `${name} byte ${at}`,
          raw: pkt,
          packet: decode(pkt, 0, pkt.length, opts),
        })
      } catch (e) {
        items.push({ index: 0, where: `${name} byte ${at}`, raw: pkt, error: asHepError(e, at) })
      }
    }
    if (errors.length > 0) items.sort((a, b) => byteOf(a) - byteOf(b))
    for (const it of items) it.index = ++index
    if (items.length > 0) yield items
  }
  if (legacy) {
    const raw = Buffer.concat(whole)
    try {
      yield [{ index: 1, where: `${name} byte 0`, raw, packet: decode(raw, 0, raw.length, opts) }]
    } catch (e) {
      yield [{ index: 1, where: `${name} byte 0`, raw, error: asHepError(e) }]
    }
    return
  }
  if (framer.buffered > 0) {
    const at = framer.offset
    yield [
      {
        index: ++index,
        where: `${name} byte ${at}`,
        error: new DecodeError(
          'HEP_TRUNCATED',
          at,
          'packet',
          `input ends ${framer.buffered} bytes into a packet that needs ${framer.buffered + framer.needed}`,
        ),
      },
    ]
  }
}

function byteOf(it: HepItem): number {
  const m = / byte (\d+)$/.exec(it.where)
  return m ? Number(m[1]) : 0
}

export function asHepError(e: unknown, shift = 0): HepError {
  if (e instanceof DecodeError && shift !== 0)
    return new DecodeError(e.code, e.offset + shift, e.field, e.detail)
  if (e instanceof HepError) return e
  return new HepError('INPUT_FORMAT', (e as Error)?.message ?? String(e))
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
  switch (format) {
    case 'raw':
      return rawBatches(stream, name, opts)
    case 'hex':
      return hexBatches(stream, name, opts)
    case 'jsonl':
      return jsonlBatches(stream, name)
    default:
      throw new HepError('INPUT_FORMAT', `${name}: ${format} input is read by the capture reader`)
  }
}
