/**
 * One TCP direction's bytes -> messages: the small interface every stream protocol implements, and
 * what a handler hands its messages to. As with gopacket's tcpassembly, the reassembler
 * (src/pcap/tcp.ts) knows nothing of protocols: a factory (factory.ts) makes one handler per
 * direction, a detector (detect.ts) that sniffs the first bytes and hands over to the handler of
 * the protocol it finds (sip.ts, hep.ts, websocket.ts).
 */
import type { SipInfo } from '../../sip/scan.js'
import type { StreamCounts } from '../message.js'
import type { Stamp } from '../stamp.js'

/** The addresses of one direction (a TcpHalf, or an SCTP packet's TransportResult, has them). */
export interface StreamAddress {
  readonly ipVersion: 4 | 6
  readonly src: string
  readonly dst: string
  readonly srcPort: number
  readonly dstPort: number
}

/** What a direction carries, once known; 'other' is anything that is not SIP, HEP or WebSocket. */
export type StreamProtocol = 'sip' | 'hep' | 'websocket' | 'other'

/** The framing of one direction of a TCP stream. */
export interface StreamHandler {
  /**
   * In-order bytes of the direction, delivered by the packet `stamp` describes (the messages they
   * complete are stamped with it). `data` is only valid during the call: a handler copies what it
   * keeps.
   */
  push(data: Buffer, stamp: Stamp): void
  /** bytes were lost (a hole in the capture): drop the message in progress and resynchronise */
  gap(): void
  /** no more bytes: drop what is incomplete and fold the framer's counters into the sink's */
  end(): void
  /** bytes held for this direction (counted against the reassembler's memory caps) */
  readonly buffered: number
}

/** Where handlers send what they find. */
export interface StreamSink {
  /** the counters handlers add to */
  readonly counts: StreamCounts
  /** a complete message of one direction */
  message(
    transport: 'tcp' | 'sctp',
    from: StreamAddress,
    stamp: Stamp,
    kind: 'sip' | 'hep',
    payload: Buffer,
    sip: SipInfo | undefined,
  ): void
  /** something not turned into a message, by reason */
  skip(reason: string): void
}

/** Makes the handlers of TCP directions. */
export interface StreamFactory {
  /** the handler of a direction whose first bytes have just arrived */
  stream(from: StreamAddress, midStream: boolean): StreamHandler
  /** the handler for a direction known to carry `protocol` */
  handler(protocol: StreamProtocol, from: StreamAddress): StreamHandler
}
