/**
 * The in-memory form of a HEP packet of any version. The well-known values are flat fields named as
 * hep-js and Homer name them; HEP v3 wire order and every chunk without a field of its own live in
 * `chunks`, so that decode -> encode gives back identical bytes.
 */

/** A chunk kept as bytes: another vendor's, an unknown generic id, a repeated id, or text that is not UTF-8. */
export interface RawChunk {
  vendor: number
  type: number
  value: Buffer
}

/**
 * One entry of a HEP v3 packet's chunk list, in wire order:
 * - a number: the generic (vendor 0) chunk id whose value is the packet's named field (e.g. 7 = srcPort);
 * - a RawChunk: a chunk carried as bytes.
 */
export type ChunkRef = number | RawChunk

export interface HepPacket {
  /** 1, 2 or 3 */
  version: 1 | 2 | 3
  /** address family: 2 IPv4, 10 IPv6 (chunk 0x0001) */
  protocolFamily?: number
  /** IP protocol of the captured message: 17 UDP, 6 TCP, 132 SCTP (chunk 0x0002) */
  protocol?: number
  srcIp?: string
  dstIp?: string
  srcPort?: number
  dstPort?: number
  /** capture time, seconds since the epoch (chunk 0x0009; v2 time header) */
  timeSeconds?: number
  /** microseconds part (chunk 0x000a; v2 time header) */
  timeUseconds?: number
  /** protocol type of the payload, 1 = SIP (chunk 0x000b); v1/v2 are always SIP */
  payloadType?: number
  /** capture agent id: u32 in v3 (chunk 0x000c), u16 in v2 */
  captureId?: number
  keepAliveTimer?: number
  authKey?: string
  /** captured payload, bytes (chunk 0x000f; v1/v2: the rest of the datagram) */
  payload?: Buffer
  compressedPayload?: Buffer
  correlationId?: string
  vlanId?: number
  nodeName?: string
  /** 8-byte MAC fields as colon-separated hex, e.g. "00:00:02:42:ac:11:00:02" */
  srcMac?: string
  dstMac?: string
  ethernetType?: number
  tcpFlags?: number
  ipTos?: number
  mos?: number
  rFactor?: number
  geoLocation?: string
  jitter?: number
  transactionType?: string
  payloadJsonKeys?: string
  tagValues?: string
  tagType?: number
  eventType?: number
  groupId?: string
  /** v3: chunk wire order (see ChunkRef). Absent: the encoder's canonical order. */
  chunks?: ChunkRef[]
  /** v1/v2: the header-length byte, kept only when it differs from 16 (IPv4) / 40 (IPv6); sngrep writes 2 */
  hdrLen?: number
  /** v2: the two padding bytes after the capture id, kept only when not zero (sngrep leaves garbage) */
  v2Padding?: number
}

/** Fields that hold text (chunk octets that are valid UTF-8) */
export type HepTextField =
  | 'authKey'
  | 'correlationId'
  | 'nodeName'
  | 'geoLocation'
  | 'transactionType'
  | 'payloadJsonKeys'
  | 'tagValues'
  | 'groupId'
  | 'srcMac'
  | 'dstMac'
  | 'srcIp'
  | 'dstIp'

export type HepNumberField =
  | 'protocolFamily'
  | 'protocol'
  | 'srcPort'
  | 'dstPort'
  | 'timeSeconds'
  | 'timeUseconds'
  | 'payloadType'
  | 'captureId'
  | 'keepAliveTimer'
  | 'vlanId'
  | 'ethernetType'
  | 'tcpFlags'
  | 'ipTos'
  | 'mos'
  | 'rFactor'
  | 'jitter'
  | 'tagType'
  | 'eventType'

export type HepBytesField = 'payload' | 'compressedPayload'
export type HepField = HepTextField | HepNumberField | HepBytesField
