/**
 * Capture messages as HepItems, the common currency of decode and convert: HEP packets found in a
 * capture (decoded), or SIP messages found in one (encapsulated as HEP with their capture facts).
 */
import { CaptureError } from '../errors.js'
import { decodeDatagram, type DecodeOptions } from '../hep/codec.js'
import { Ipv4Texts } from '../hep/ip.js'
import type { StdinSource } from '../input/input.js'
import type { HepPacket } from '../hep/packet.js'
import { asHepError, frameItem, makeItem, type CaptureFacts, type HepItem } from '../item/item.js'
import { countSkip, tally } from '../item/skip.js'
import { RtcpCorrelator, type RtcpCounts, type RtcpMode } from '../rtcp/correlate.js'
import { mosOf, type RtcpReport } from '../rtcp/rtcp.js'
import type { MediaTableOptions } from '../rtcp/table.js'
import { CaptureExtractor, nonSipReason, type ExtractOptions } from './extract.js'
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
  /**
   * RTCP of the capture as HEP type 5 (SIP captures): of the calls whose SIP is in the capture
   * ('correlated', default), all of it ('all': the rest without a correlation id), or none ('off')
   */
  rtcp?: RtcpMode
  /** bounds and time limits of the media table that ties RTCP to calls */
  mediaTable?: MediaTableOptions
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

/**
 * The HEP packet (v3, payload type 5) that carries an RTCP packet: its report as JSON (rtcp.ts), the
 * call's Call-ID as correlation id, MOS × 100 in chunk 0x0020 as heplify sets it.
 */
export function rtcpToHep(
  m: CapturedMessage,
  report: RtcpReport,
  callId: string | undefined,
  captureId = 1,
): HepPacket {
  const p = messageToHep(m, captureId)
  p.payloadType = 5
  p.correlationId = callId
  p.mos = mosOf(report)
  p.payload = Buffer.from(JSON.stringify(report))
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
  /** ties RTCP to calls (SIP captures, rtcp not 'off') */
  readonly rtcp: RtcpCorrelator | undefined

  constructor(
    source: string | NodeJS.ReadableStream,
    private readonly name: string,
    private readonly opts: CaptureItemsOptions,
  ) {
    // one capture, one decoding session: its addresses are formatted once
    if (opts.addresses === undefined) this.opts = { ...opts, addresses: new Ipv4Texts() }
    this.mode = opts.mode === 'auto' ? undefined : opts.mode
    const rtcp = opts.rtcp ?? 'correlated'
    this.rtcp = opts.mode !== 'hep' && rtcp !== 'off' ? new RtcpCorrelator(rtcp, opts.mediaTable) : undefined
    this.extractor = new CaptureExtractor(source, {
      rtcp: this.rtcp !== undefined,
      onMedia: this.rtcp === undefined ? undefined : () => this.rtcp?.media(),
      ...opts.extract,
      stdin: opts.stdin,
      want: opts.mode === 'auto' ? 'both' : opts.mode,
      portRanges: opts.portRanges,
    })
  }

  get stats(): ExtractStats {
    return this.extractor.stats
  }

  /** items handed out so far (packets, unreadable ones included) */
  get items(): number {
    return this.index
  }

  /** RTCP found, made into items and skipped (undefined when RTCP is not looked for) */
  get rtcpCounts(): RtcpCounts | undefined {
    return this.rtcp?.counts
  }

  private item(m: CapturedMessage): HepItem | undefined {
    if (this.mode === 'hep') {
      const origin = { source: this.name, frame: m.frame }
      if (m.kind !== 'hep') {
        if (m.kind === 'rtcp') tally(this.extractor.stats.skipped, nonSipReason(m))
        else countSkip(this.extractor.stats.skipped, 'sipInHepCapture')
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
    if (m.kind === 'rtcp') return this.rtcpItem(m)
    if (m.kind !== 'sip') return undefined
    this.rtcp?.sip(m)
    return frameItem(++this.index, this.name, m.frame, messageToHep(m, this.opts.captureId), meta(m), m.sip)
  }

  private rtcpItem(m: CapturedMessage): HepItem | undefined {
    const skipped = this.extractor.stats.skipped
    const d = (this.rtcp as RtcpCorrelator).rtcp(m)
    if (d.kind === 'report') {
      const p = rtcpToHep(m, d.report, d.callId, this.opts.captureId)
      return frameItem(++this.index, this.name, m.frame, p, meta(m), undefined)
    }
    if (d.kind === 'uncorrelated') countSkip(skipped, 'rtcpUncorrelated')
    else if (d.kind === 'malformed') countSkip(skipped, 'rtcpMalformed')
    else tally(skipped, nonSipReason(m))
    return undefined
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
