/**
 * PacketDecoder: one captured frame in, its transport-layer payload (UDP, TCP, SCTP) out, with IP
 * fragments reassembled and tunnels opened (IP-in-IP, GRE, ERSPAN, VXLAN). See link.ts, ip.ts,
 * transport.ts, tunnel.ts and fragments.ts for the layers and dispatch.ts for how they are chained.
 * TCP segments come out one by one: stream reassembly is tcp.ts's job.
 */

import { DecodeState, decodeNetwork } from './dispatch.js'
import { FragmentTable } from './fragments.js'
import {
  decodeLink,
  LINK_MALFORMED,
  LINK_OK,
  LINK_TRUNCATED,
  LINK_UNKNOWN,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
} from './link.js'
import { skip, type DecodeResult } from './result.js'

export interface PacketDecoderOptions {
  /**
   * How long the fragments of an incomplete datagram are held, from its first fragment, measured in
   * CAPTURE time (the record timestamps passed to decode), not wall time. Default 30 000 ms.
   */
  fragmentTimeoutMs?: number
  /**
   * Bytes of fragment data held for incomplete datagrams, all flows together. When exceeded, the
   * oldest datagrams are dropped first. Default 64 MiB.
   */
  fragmentMemoryCap?: number
  /**
   * Decode frames captured shorter than their IP / UDP lengths say (snaplen) and return the bytes
   * there are, with `truncated: true`, instead of skipping them as 'truncated'. Default false.
   * Truncated fragments are always skipped (they cannot be reassembled).
   */
  acceptTruncated?: boolean
}

export interface PacketDecoderStats {
  /** fragments currently held for incomplete datagrams */
  fragmentsHeld: number
  /** bytes of fragment data currently held */
  fragmentBytesHeld: number
  /** datagrams reassembled */
  reassembled: number
  /** fragments discarded because their datagram timed out (or by flush()) */
  fragmentsExpired: number
  /** fragments discarded by the memory cap, or as inconsistent (see SkipReason 'fragment-dropped') */
  fragmentsDropped: number
  /** link-layer types seen that the decoder does not know, with how many frames had each */
  unknownLinkTypes: Map<number, number>
}

/** The fields of a capture record the decoder needs (structurally a subset of the reader's CaptureRecord). */
export interface FrameInput {
  linkType: number
  data: Buffer
  seconds: number
  nanos: number
}

export const DEFAULT_FRAGMENT_TIMEOUT_MS = 30_000
export const DEFAULT_FRAGMENT_MEMORY_CAP = 64 * 1024 * 1024

function nonNegative(v: number | undefined, dflt: number): number {
  return typeof v === 'number' && v >= 0 ? v : dflt
}

export class PacketDecoder {
  readonly stats: PacketDecoderStats = {
    fragmentsHeld: 0,
    fragmentBytesHeld: 0,
    reassembled: 0,
    fragmentsExpired: 0,
    fragmentsDropped: 0,
    unknownLinkTypes: new Map(),
  }
  private readonly frags: FragmentTable
  private readonly state: DecodeState

  constructor(options: PacketDecoderOptions = {}) {
    this.frags = new FragmentTable(
      nonNegative(options.fragmentTimeoutMs, DEFAULT_FRAGMENT_TIMEOUT_MS),
      nonNegative(options.fragmentMemoryCap, DEFAULT_FRAGMENT_MEMORY_CAP),
      this.stats,
    )
    this.state = new DecodeState(this.frags, options.acceptTruncated === true)
  }

  /**
   * Decodes one frame of link-layer type `linkType` captured at `seconds` + `nanos` (used for fragment
   * expiry only). The payload of a result is a view into `data` (or into a reassembled datagram).
   * Never throws on any input.
   */
  decode(linkType: number, data: Buffer, seconds: number, nanos: number): DecodeResult {
    const s = this.state
    const nowMs = seconds * 1000 + nanos / 1e6
    if (this.frags.size > 0) this.frags.expire(nowMs)
    s.nowMs = nowMs
    const lf = s.link
    const st = decodeLink(linkType, data, lf)
    if (st !== LINK_OK) return this.linkSkip(st, linkType)
    s.vlan = lf.vlan >= 0 ? lf.vlan : undefined
    s.fragments = undefined
    s.truncated = false
    return decodeNetwork(s, lf.netType, data, lf.offset, data.length, 0)
  }

  /** decode() with the fields of a capture record. */
  decodeRecord(record: FrameInput): DecodeResult {
    return this.decode(record.linkType, record.data, record.seconds, record.nanos)
  }

  /** End of input: discards the incomplete datagrams held, counting their fragments as expired. */
  flush(): void {
    this.frags.clear()
  }

  private linkSkip(status: number, linkType: number): DecodeResult {
    switch (status) {
      case LINK_UNKNOWN: {
        const m = this.stats.unknownLinkTypes
        m.set(linkType, (m.get(linkType) ?? 0) + 1)
        return skip('unknown-link-type', 'link type ' + linkType)
      }
      case LINK_TRUNCATED:
        return skip('truncated', 'link-layer header')
      case LINK_MALFORMED:
        return skip('malformed', 'more than 8 stacked VLAN tags')
      default: {
        const lf = this.state.link
        if (linkType === LINKTYPE_NULL || linkType === LINKTYPE_LOOP)
          return skip('not-ip', 'address family ' + lf.family)
        if (lf.offset === 0) return skip('not-ip', 'IP version ' + lf.family)
        return skip('not-ip', 'ethertype 0x' + lf.netType.toString(16).padStart(4, '0'))
      }
    }
  }
}
