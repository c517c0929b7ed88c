/**
 * The item: the currency of decode, send, convert and replay. Every reader (the text formats in
 * input/hep-source.ts, captures in capture/items.ts) yields items, each carrying either a packet or
 * the error that kept one from decoding, and where it came from: its origin, as data.
 */
import { CaptureError, DecodeError, HepError } from '../errors.js'
import type { HepPacket } from '../hep/packet.js'
import type { SipInfo } from '../sip/scan.js'

/**
 * Where an item came from: its input's name and, within it, a line (text formats), a byte offset
 * (raw HEP streams) or a frame (captures); or the whole input (a capture that could not be read on,
 * a packet made from flags).
 */
export type Origin =
  | { readonly source: string; readonly line: number }
  | { readonly source: string; readonly byte: number }
  | { readonly source: string; readonly frame: number }
  | { readonly source: string }

/** The origin for messages: "file.hex line 3", "stdin byte 120", "x.pcap frame 7", "x.pcap". */
export function formatOrigin(o: Origin): string {
  if ('line' in o) return `${o.source} line ${o.line}`
  if ('byte' in o) return `${o.source} byte ${o.byte}`
  if ('frame' in o) return `${o.source} frame ${o.frame}`
  return o.source
}

/** Capture metadata of a packet that came out of a pcap. */
export interface CaptureFacts {
  frame: number
  seconds: number
  nanos: number
  src: string
  dst: string
  srcPort: number
  dstPort: number
  transport: string
}

export interface HepItem {
  /** 1-based number of the item in its input */
  index: number
  /** where it came from */
  origin: Origin
  /** the origin for messages (formatOrigin): "file.hex line 3", "stdin byte 120", "x.pcap frame 7" */
  readonly where: string
  packet?: HepPacket
  /** the packet's bytes as received, when the input carried bytes (raw, hex, pcap) */
  raw?: Buffer
  error?: HepError
  /** what the SIP scan found in the payload, when the item came from a capture's SIP */
  sip?: SipInfo
  /** capture metadata when the packet came out of a pcap */
  capture?: CaptureFacts
}

/** What an item carries besides its number and origin. */
export type ItemContent = Pick<HepItem, 'packet' | 'raw' | 'error' | 'sip' | 'capture'>

class Item implements HepItem {
  packet: HepPacket | undefined
  raw: Buffer | undefined
  error: HepError | undefined
  sip: SipInfo | undefined
  capture: CaptureFacts | undefined

  constructor(
    public index: number,
    public origin: Origin,
    c: ItemContent,
  ) {
    // every item has the same fields (set or undefined): one shape for the code that reads them
    this.packet = c.packet
    this.raw = c.raw
    this.error = c.error
    this.sip = c.sip
    this.capture = c.capture
  }

  get where(): string {
    return formatOrigin(this.origin)
  }
}

/**
 * An item of a capture's frame (capture/items.ts, one per message: the hot path of replay): its
 * fields set directly, its origin made only when asked for.
 */
class FrameItem implements HepItem {
  raw: Buffer | undefined = undefined
  error: HepError | undefined = undefined

  constructor(
    public index: number,
    private readonly source: string,
    private readonly frame: number,
    public packet: HepPacket | undefined,
    public capture: CaptureFacts | undefined,
    public sip: SipInfo | undefined,
  ) {}

  get origin(): Origin {
    return { source: this.source, frame: this.frame }
  }

  get where(): string {
    return formatOrigin(this.origin)
  }
}

/** An item numbered `index` of frame `frame` of capture `source` (makeItem with that origin). */
export function frameItem(
  index: number,
  source: string,
  frame: number,
  packet: HepPacket,
  capture: CaptureFacts,
  sip: SipInfo | undefined,
): HepItem {
  return new FrameItem(index, source, frame, packet, capture, sip)
}

/** An item numbered `index`, from `origin`, with its packet or error. */
export function makeItem(index: number, origin: Origin, content: ItemContent): HepItem {
  return new Item(index, origin, content)
}

/** Any failure while reading a packet as a HepError; a DecodeError's offset moved by `shift`. */
export function asHepError(e: unknown, shift = 0): HepError {
  if (e instanceof DecodeError && shift !== 0)
    return new DecodeError(e.code, e.offset + shift, e.field, e.detail)
  if (e instanceof HepError) return e
  return new HepError('INPUT_FORMAT', (e as Error)?.message ?? String(e))
}

/**
 * An item that is the record a stop (Ctrl-C) cut short: the reading of stdin or a FIFO ended inside
 * it (or before the input's first byte). That is no bad input: readers leave it out of their counts
 * (not malformed) and say what was cut (`cutText`).
 */
export function cutByStop(it: HepItem, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted !== true) return false
  return it.error?.code === 'CAPTURE_TRUNCATED' || (it.error instanceof CaptureError && it.error.empty)
}

/** What a reader says of an item cut by the stop (cutByStop). */
export const cutText = (it: HepItem): string =>
  it.error instanceof CaptureError && it.error.empty
    ? `${it.where}: the stop came before its first byte: nothing read`
    : `${it.where}: the stop came inside a record (${it.error?.message ?? 'cut short'}): not counted`
