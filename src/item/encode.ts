/**
 * The step send, convert and replay share: an item that could not be read is skipped, the HEP
 * encoding options are applied, the packet is encoded, and what cannot be encoded is skipped; every
 * skip is counted by reason and told with the item's origin.
 */
import { HepError } from '../errors.js'
import { encode, type EncodeOptions } from '../hep/codec.js'
import { completePacket } from '../hep/complete.js'
import {
  applyEncodingOptions,
  checkEncodingOptions,
  type HepEncodingOptions,
} from '../hep/encoding-options.js'
import { Ipv4Bits } from '../hep/ip.js'
import { reportLosses } from '../hep/lossy.js'
import type { HepPacket } from '../hep/packet.js'
import type { HepItem } from './item.js'
import { countSkip, SKIP_LABELS, type Counts, type SkipReason } from './skip.js'

export interface ItemEncoderOptions extends HepEncodingOptions {
  /** the Call-ID finder for correlationId 'auto', for items that carry no SIP scan of their own */
  callIdOf?: (payload: Buffer) => string | undefined
  /** complete hand-written packets (those without a chunk list) before encoding them (send) */
  complete?: boolean
  /** with no option that changes a packet, bytes read as HEP go out as they came (send) */
  reuseRaw?: boolean
  /** encode into this buffer: `bytes` is then a view of it, good until the next item (convert) */
  scratch?: Buffer
  /** count packets that did not decode as 'malformed', apart from input not readable at all (convert) */
  malformed?: boolean
  /** told about every item skipped, with its origin */
  onSkip?: (where: string, reason: string, error?: HepError) => void
}

const SLAB_BYTES = 1024 * 1024
const SLAB_ROOM = 65536

/** Readable items in, their packets with the options applied and their bytes out; the rest counted. */
export class ItemEncoder {
  /** items skipped, by label */
  readonly skipped: Counts
  /** the last item encoded (set when encode returns true): its packet with the options applied, its bytes */
  packet!: HepPacket
  bytes!: Buffer
  /** no option changes a packet */
  private readonly plain: boolean
  /** no option but `version` changes a packet: a packet of that version is not changed either */
  private readonly plainAtVersion: number | undefined
  private current: HepItem | undefined
  /**
   * Without a scratch buffer, packets are encoded one after the other into a slab, each `bytes` a
   * view of its own part (never written again): one allocation per slab rather than one per packet
   * (Node's pool takes a new 8 KiB every ~16 packets of 500 bytes, and a Buffer of its own each)
   */
  private slab: Buffer | undefined
  private slabUsed = 0
  /** the encoding session: its addresses parsed once */
  private readonly session: EncodeOptions = { addressBits: new Ipv4Bits() }
  private readonly sipCallId = (): string | undefined => this.current?.sip?.callId

  constructor(
    private readonly opts: ItemEncoderOptions,
    skipped: Counts = {},
  ) {
    checkEncodingOptions(opts)
    this.skipped = skipped
    const others =
      opts.captureId === undefined &&
      opts.nodeName === undefined &&
      opts.authKey === undefined &&
      opts.correlationId === undefined &&
      opts.compress === undefined
    this.plain = others && opts.version === undefined
    this.plainAtVersion = others ? opts.version : undefined
  }

  /** Counts `item` as skipped for `reason` and tells onSkip. */
  skip(item: HepItem, reason: SkipReason, error?: HepError): void {
    countSkip(this.skipped, reason)
    this.opts.onSkip?.(item.where, SKIP_LABELS[reason], error)
  }

  /** Whether the item carries a packet; if not it is skipped (unreadable, or malformed). */
  readable(item: HepItem): boolean {
    if (!item.error && item.packet) return true
    const code = item.error?.code
    const unreadable = this.opts.malformed !== true || code === 'INPUT_FORMAT' || code === 'HEP_JSON'
    this.skip(item, unreadable ? 'unreadable' : 'malformed', item.error)
    return false
  }

  /**
   * Encodes a readable item into `packet` and `bytes`; false when it cannot be (skipped as not
   * encodable). `adjust` may change the packet (a copy) before it is encoded.
   */
  encode(item: HepItem, adjust?: (p: HepPacket) => void): boolean {
    const o = this.opts
    const read = item.packet as HepPacket
    try {
      if (this.plain && adjust === undefined && o.reuseRaw === true && item.raw !== undefined) {
        this.packet = read
        this.bytes = item.raw
        return true
      }
      let p = o.complete === true && read.chunks === undefined ? completePacket(read) : read
      // (replay and capture ask for version 3 of packets made as version 3: no copy to make)
      const plain = this.plain || (this.plainAtVersion !== undefined && p.version === this.plainAtVersion)
      if (!plain || adjust !== undefined) {
        this.current = item
        p = applyEncodingOptions(p, o, item.sip ? this.sipCallId : o.callIdOf)
        this.current = undefined
      } else if (p.version !== 3 && o.onLoss) reportLosses(p, p.version, o.onLoss)
      adjust?.(p)
      if (o.scratch !== undefined) {
        encode(p, o.scratch, 0, this.session)
        this.bytes = o.scratch.subarray(0, encode.bytes)
      } else if (p.version !== 3) this.bytes = encode(p, undefined, 0, this.session)
      else {
        let slab = this.slab
        // room for the largest HEP3 packet (65535 bytes: a longer one fails before it is written)
        if (slab === undefined || slab.length - this.slabUsed < SLAB_ROOM) {
          slab = this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
          this.slabUsed = 0
        }
        const at = this.slabUsed
        encode(p, slab, at, this.session)
        const end = at + encode.bytes
        this.bytes = slab.subarray(at, end)
        // the next packet 8-byte aligned
        this.slabUsed = (end + 7) & ~7
      }
      this.packet = p
      return true
    } catch (e) {
      this.current = undefined
      if (!(e instanceof HepError)) throw e
      this.skip(item, 'notEncodable', e)
      return false
    }
  }

  /** readable(item) and encode(item). */
  next(item: HepItem): boolean {
    return this.readable(item) && this.encode(item)
  }
}
