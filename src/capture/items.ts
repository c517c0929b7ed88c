/**
 * Capture messages as HepItems, the common currency of decode and convert: HEP packets found in a
 * capture (decoded), or SIP messages found in one (encapsulated as HEP with their capture facts).
 */
import { CaptureError } from '../errors.js'
import { decodeDatagram, type DecodeOptions } from '../hep/codec.js'
import { Ipv4Texts } from '../hep/ip.js'
import type { StdinSource } from '../input/input.js'
import type { HepPacket } from '../hep/packet.js'
import { asHepError, makeItem, type CaptureFacts, type HepItem } from '../item/item.js'
import { countSkip } from '../item/skip.js'
import { CaptureExtractor, type ExtractOptions } from './extract.js'
import type { CapturedMessage, ExtractStats } from './message.js'

export interface CaptureItemsOptions extends DecodeOptions {
  /** 'hep': HEP packets carried in the capture; 'sip': captured SIP messages; 'auto': HEP if the capture carries any */
  mode: 'hep' | 'sip' | 'auto'
  portRanges?: [number, number][]
  /** capture id stamped on encapsulated messages (default 1, as Kamailio and OpenSIPS) */
  captureId?: number
  /** how many messages 'auto' looks at before deciding (default 2000) */
  lookahead?: number
  /** told once the mode is known ('auto') */
  onMode?: (mode: 'hep' | 'sip') => void
  extract?: Partial<ExtractOptions>
  /** stdin, for a source of '-' */
  stdin?: StdinSource
}

/** The HEP packet (v3, canonical chunk order) that carries a captured message. */
export function messageToHep(m: CapturedMessage, captureId = 1): HepPacket {
  const p: HepPacket = {
    version: 3,
    protocolFamily: m.ipVersion === 6 ? 10 : 2,
    protocol: m.transport === 'tcp' ? 6 : m.transport === 'sctp' ? 132 : 17,
    srcIp: m.src,
    dstIp: m.dst,
    srcPort: m.srcPort,
    dstPort: m.dstPort,
    timeSeconds: m.seconds,
    timeUseconds: Math.floor(m.nanos / 1000),
    payloadType: 1,
    captureId,
    // every packet made here has the same shape (fields set or undefined), which keeps encoding fast
    vlanId: m.vlan,
    correlationId: undefined,
    authKey: undefined,
    nodeName: undefined,
    payload: m.payload,
  }
  return p
}

/** The capture facts of an item: the message itself carries them (no copy). */
function meta(m: CapturedMessage): CaptureFacts {
  return m
}

export class CaptureItems {
  readonly extractor: CaptureExtractor
  private index = 0
  mode: 'hep' | 'sip' | undefined

  constructor(
    source: string | NodeJS.ReadableStream,
    private readonly name: string,
    private readonly opts: CaptureItemsOptions,
  ) {
    // one capture, one decoding session: its addresses are formatted once
    if (opts.addresses === undefined) this.opts = { ...opts, addresses: new Ipv4Texts() }
    this.mode = opts.mode === 'auto' ? undefined : opts.mode
    this.extractor = new CaptureExtractor(source, {
      ...opts.extract,
      stdin: opts.stdin,
      want: opts.mode === 'auto' ? 'both' : opts.mode,
      portRanges: opts.portRanges,
    })
  }

  get stats(): ExtractStats {
    return this.extractor.stats
  }

  private item(m: CapturedMessage): HepItem | undefined {
    const origin = { source: this.name, frame: m.frame }
    if (this.mode === 'hep') {
      if (m.kind !== 'hep') {
        countSkip(this.extractor.stats.skipped, 'sipInHepCapture')
        return undefined
      }
      try {
        return makeItem(++this.index, origin, {
          raw: m.payload,
          packet: decodeDatagram(m.payload, this.opts),
          capture: meta(m),
        })
      } catch (e) {
        return makeItem(++this.index, origin, { raw: m.payload, error: asHepError(e), capture: meta(m) })
      }
    }
    if (m.kind !== 'sip') return undefined
    return makeItem(++this.index, origin, {
      packet: messageToHep(m, this.opts.captureId),
      capture: meta(m),
      sip: m.sip,
    })
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<HepItem> {
    for await (const batch of this.batches()) yield* batch
  }

  private convert(msgs: CapturedMessage[]): HepItem[] {
    const out: HepItem[] = []
    for (let i = 0; i < msgs.length; i++) {
      const it = this.item(msgs[i])
      if (it) out.push(it)
    }
    return out
  }

  /** Items, one array per read of the capture. */
  async *batches(): AsyncGenerator<HepItem[]> {
    const pending: CapturedMessage[] = []
    const limit = this.opts.lookahead ?? 2000
    const decidePending = () => this.decide(pending.some((m) => m.kind === 'hep') ? 'hep' : 'sip')
    try {
      for await (const batch of this.extractor.batches()) {
        if (this.mode === undefined) {
          pending.push(...batch)
          if (pending.some((m) => m.kind === 'hep')) this.decide('hep')
          else if (pending.length >= limit) this.decide('sip')
          else continue
          yield this.convert(pending.splice(0))
          continue
        }
        const items = this.convert(batch)
        if (items.length > 0) yield items
      }
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e
      if (this.mode === undefined) decidePending()
      const items = this.convert(pending.splice(0))
      items.push(makeItem(++this.index, { source: this.name }, { error: e }))
      yield items
      return
    }
    if (this.mode === undefined) decidePending()
    if (pending.length > 0) yield this.convert(pending.splice(0))
  }

  private decide(mode: 'hep' | 'sip'): void {
    this.mode = mode
    this.opts.onMode?.(mode)
  }
}
