/**
 * HEP packets from an input in any HEP format, as items that carry either a packet or the error that
 * kept one from decoding, each with its position ("capture.hex line 4", "dump.hep byte 1200").
 * A bad packet never stops the stream: the caller reports it and goes on.
 */
import { createInterface } from 'node:readline'
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

async function* lines(stream: Readable): AsyncGenerator<string> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity })
  for await (const line of rl) yield line
}

const HEX_SEPARATORS = /[\s:]/g

export async function* hexSource(
  stream: Readable,
  name: string,
  opts: HepSourceOptions = {},
): AsyncGenerator<HepItem> {
  let lineNo = 0
  let index = 0
  for await (const line of lines(stream)) {
    lineNo++
    const t = line.trim()
    if (t === '' || t.startsWith('#')) continue
    index++
    const where = `${name} line ${lineNo}`
    const hex = t.replace(/^0x/i, '').replace(HEX_SEPARATORS, '')
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      const bad = hex.search(/[^0-9a-fA-F]/)
      yield {
        index,
        where,
        error: new HepError(
          'INPUT_FORMAT',
          bad >= 0 ? `not hex at column ${bad + 1}` : 'odd number of hex digits',
        ),
      }
      continue
    }
    const raw = Buffer.from(hex, 'hex')
    try {
      yield { index, where, raw, packet: decodeDatagram(raw, opts) }
    } catch (e) {
      yield { index, where, raw, error: asHepError(e) }
    }
  }
}

/** JSON lines; lines of connection events (`listen --events`: an "event" key) are not packets and are skipped. */
export async function* jsonlSource(stream: Readable, name: string): AsyncGenerator<HepItem> {
  let lineNo = 0
  let index = 0
  for await (const line of lines(stream)) {
    lineNo++
    const t = line.trim()
    if (t === '') continue
    const where = `${name} line ${lineNo}`
    let obj: unknown
    try {
      obj = JSON.parse(t)
    } catch (e) {
      yield { index: ++index, where, error: new HepError('HEP_JSON', `not JSON: ${(e as Error).message}`) }
      continue
    }
    if (obj !== null && typeof obj === 'object' && typeof (obj as { event?: unknown }).event === 'string')
      continue
    index++
    try {
      yield { index, where, packet: fromJson(obj) }
    } catch (e) {
      yield { index, where, error: asHepError(e) }
    }
  }
}

/**
 * Raw input: back-to-back HEP3 packets (a HEP-over-TCP stream). A raw input that starts with a
 * HEP v1/v2 header holds one packet (v1/v2 have no length field): the whole input.
 */
export async function* rawSource(
  stream: Readable,
  name: string,
  opts: HepSourceOptions = {},
): AsyncGenerator<HepItem> {
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
    for (const it of items) {
      it.index = ++index
      yield it
    }
  }
  if (legacy) {
    const raw = Buffer.concat(whole)
    try {
      yield { index: 1, where: `${name} byte 0`, raw, packet: decode(raw, 0, raw.length, opts) }
    } catch (e) {
      yield { index: 1, where: `${name} byte 0`, raw, error: asHepError(e) }
    }
    return
  }
  if (framer.buffered > 0) {
    const at = framer.offset
    yield {
      index: ++index,
      where: `${name} byte ${at}`,
      error: new DecodeError(
        'HEP_TRUNCATED',
        at,
        'packet',
        `input ends ${framer.buffered} bytes into a packet that needs ${framer.buffered + framer.needed}`,
      ),
    }
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

/** Items from a stream whose format is known (pcap formats are handled by the capture module). */
export function hepSource(
  format: HepFormat,
  stream: Readable,
  name: string,
  opts: HepSourceOptions = {},
): AsyncGenerator<HepItem> {
  switch (format) {
    case 'raw':
      return rawSource(stream, name, opts)
    case 'hex':
      return hexSource(stream, name, opts)
    case 'jsonl':
      return jsonlSource(stream, name)
    default:
      throw new HepError('INPUT_FORMAT', `${name}: ${format} input is read by the capture reader`)
  }
}
