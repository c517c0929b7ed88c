/**
 * THE chunk table: one entry per generic (vendor 0) chunk id. HEP v3 decode, encode, encodingLength,
 * the JSON form and the chunk table printed by `--chunks` are all driven by it, so they cannot drift.
 */
import { CHUNK } from './constants.js'
import type { HepField, HepPacket } from './packet.js'

/**
 * How a chunk value is carried:
 * u8/u16/u32: unsigned big-endian integers (fixed width); u64: 8 bytes shown as colon hex (MACs);
 * inet4/inet6: addresses (fixed width); text: octets that are UTF-8 text; bytes: octets kept as bytes.
 */
export type ChunkKind = 'u8' | 'u16' | 'u32' | 'u64' | 'inet4' | 'inet6' | 'text' | 'bytes'

/** The type of a field that a chunk of each kind fills. */
export interface KindValue {
  u8: number
  u16: number
  u32: number
  u64: string
  inet4: string
  inet6: string
  text: string
  bytes: Buffer
}

/** Each kind as a small integer: what the decoder switches on (a switch on `kind` compares strings). */
export const KIND_CODE = {
  u8: 0,
  u16: 1,
  u32: 2,
  u64: 3,
  inet4: 4,
  inet6: 5,
  text: 6,
  bytes: 7,
} as const satisfies Record<ChunkKind, number>

export interface ChunkDef<K extends ChunkKind = ChunkKind> {
  id: number
  field: HepField
  kind: K
  /** KIND_CODE[kind] */
  code: (typeof KIND_CODE)[K]
  /** value width in bytes for fixed-width kinds, 0 for variable */
  width: number
  /** human description for tables */
  label: string
  /** the field's number, 0..31, in order of first appearance (srcIp and dstIp have two chunks each) */
  slot: number
  /** srcIp/dstIp: the chunk ids for IPv4 and IPv6 text (others: id) */
  id4: number
  id6: number
  /** the packet's value of this field (static property access: one accessor per row) */
  get(p: HepPacket): KindValue[K] | undefined
  set(p: HepPacket, v: KindValue[K]): void
}

const WIDTH: Record<ChunkKind, number> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  inet4: 4,
  inet6: 16,
  text: 0,
  bytes: 0,
}

function def<K extends ChunkKind>(
  id: number,
  field: HepField,
  kind: K,
  label: string,
  get: (p: HepPacket) => KindValue[K] | undefined,
  set: (p: HepPacket, v: KindValue[K]) => void,
): ChunkDef {
  return {
    id,
    field,
    kind,
    code: KIND_CODE[kind],
    width: WIDTH[kind],
    label,
    slot: -1,
    id4: id,
    id6: id,
    get,
    set,
  } as ChunkDef
}

const ROWS: ChunkDef[] = [
  def(
    CHUNK.IP_FAMILY,
    'protocolFamily',
    'u8',
    'IP family',
    (p) => p.protocolFamily,
    (p, v) => void (p.protocolFamily = v),
  ),
  def(
    CHUNK.IP_PROTOCOL,
    'protocol',
    'u8',
    'IP protocol',
    (p) => p.protocol,
    (p, v) => void (p.protocol = v),
  ),
  def(
    CHUNK.SRC_IP4,
    'srcIp',
    'inet4',
    'IPv4 source',
    (p) => p.srcIp,
    (p, v) => void (p.srcIp = v),
  ),
  def(
    CHUNK.DST_IP4,
    'dstIp',
    'inet4',
    'IPv4 destination',
    (p) => p.dstIp,
    (p, v) => void (p.dstIp = v),
  ),
  def(
    CHUNK.SRC_IP6,
    'srcIp',
    'inet6',
    'IPv6 source',
    (p) => p.srcIp,
    (p, v) => void (p.srcIp = v),
  ),
  def(
    CHUNK.DST_IP6,
    'dstIp',
    'inet6',
    'IPv6 destination',
    (p) => p.dstIp,
    (p, v) => void (p.dstIp = v),
  ),
  def(
    CHUNK.SRC_PORT,
    'srcPort',
    'u16',
    'source port',
    (p) => p.srcPort,
    (p, v) => void (p.srcPort = v),
  ),
  def(
    CHUNK.DST_PORT,
    'dstPort',
    'u16',
    'destination port',
    (p) => p.dstPort,
    (p, v) => void (p.dstPort = v),
  ),
  def(
    CHUNK.TIME_SECONDS,
    'timeSeconds',
    'u32',
    'timestamp seconds',
    (p) => p.timeSeconds,
    (p, v) => void (p.timeSeconds = v),
  ),
  def(
    CHUNK.TIME_USECONDS,
    'timeUseconds',
    'u32',
    'timestamp microseconds',
    (p) => p.timeUseconds,
    (p, v) => void (p.timeUseconds = v),
  ),
  def(
    CHUNK.PAYLOAD_TYPE,
    'payloadType',
    'u8',
    'protocol type',
    (p) => p.payloadType,
    (p, v) => void (p.payloadType = v),
  ),
  def(
    CHUNK.CAPTURE_ID,
    'captureId',
    'u32',
    'capture agent id',
    (p) => p.captureId,
    (p, v) => void (p.captureId = v),
  ),
  def(
    CHUNK.KEEPALIVE,
    'keepAliveTimer',
    'u16',
    'keep-alive timer',
    (p) => p.keepAliveTimer,
    (p, v) => void (p.keepAliveTimer = v),
  ),
  def(
    CHUNK.AUTH_KEY,
    'authKey',
    'text',
    'authentication key',
    (p) => p.authKey,
    (p, v) => void (p.authKey = v),
  ),
  def(
    CHUNK.PAYLOAD,
    'payload',
    'bytes',
    'payload',
    (p) => p.payload,
    (p, v) => void (p.payload = v),
  ),
  def(
    CHUNK.COMPRESSED_PAYLOAD,
    'compressedPayload',
    'bytes',
    'compressed payload',
    (p) => p.compressedPayload,
    (p, v) => void (p.compressedPayload = v),
  ),
  def(
    CHUNK.CORRELATION_ID,
    'correlationId',
    'text',
    'correlation id',
    (p) => p.correlationId,
    (p, v) => void (p.correlationId = v),
  ),
  def(
    CHUNK.VLAN_ID,
    'vlanId',
    'u16',
    'VLAN id',
    (p) => p.vlanId,
    (p, v) => void (p.vlanId = v),
  ),
  def(
    CHUNK.NODE_NAME,
    'nodeName',
    'text',
    'capture node name',
    (p) => p.nodeName,
    (p, v) => void (p.nodeName = v),
  ),
  def(
    CHUNK.SRC_MAC,
    'srcMac',
    'u64',
    'source MAC',
    (p) => p.srcMac,
    (p, v) => void (p.srcMac = v),
  ),
  def(
    CHUNK.DST_MAC,
    'dstMac',
    'u64',
    'destination MAC',
    (p) => p.dstMac,
    (p, v) => void (p.dstMac = v),
  ),
  def(
    CHUNK.ETHERNET_TYPE,
    'ethernetType',
    'u16',
    'Ethernet type',
    (p) => p.ethernetType,
    (p, v) => void (p.ethernetType = v),
  ),
  def(
    CHUNK.TCP_FLAGS,
    'tcpFlags',
    'u8',
    'TCP flags',
    (p) => p.tcpFlags,
    (p, v) => void (p.tcpFlags = v),
  ),
  def(
    CHUNK.IP_TOS,
    'ipTos',
    'u8',
    'IP TOS',
    (p) => p.ipTos,
    (p, v) => void (p.ipTos = v),
  ),
  def(
    CHUNK.MOS,
    'mos',
    'u16',
    'MOS',
    (p) => p.mos,
    (p, v) => void (p.mos = v),
  ),
  def(
    CHUNK.R_FACTOR,
    'rFactor',
    'u16',
    'R-factor',
    (p) => p.rFactor,
    (p, v) => void (p.rFactor = v),
  ),
  def(
    CHUNK.GEO_LOCATION,
    'geoLocation',
    'text',
    'GEO location',
    (p) => p.geoLocation,
    (p, v) => void (p.geoLocation = v),
  ),
  def(
    CHUNK.JITTER,
    'jitter',
    'u32',
    'jitter',
    (p) => p.jitter,
    (p, v) => void (p.jitter = v),
  ),
  def(
    CHUNK.TRANSACTION_TYPE,
    'transactionType',
    'text',
    'transaction type',
    (p) => p.transactionType,
    (p, v) => void (p.transactionType = v),
  ),
  def(
    CHUNK.PAYLOAD_JSON_KEYS,
    'payloadJsonKeys',
    'text',
    'payload JSON keys',
    (p) => p.payloadJsonKeys,
    (p, v) => void (p.payloadJsonKeys = v),
  ),
  def(
    CHUNK.TAG_VALUES,
    'tagValues',
    'text',
    'tag values',
    (p) => p.tagValues,
    (p, v) => void (p.tagValues = v),
  ),
  def(
    CHUNK.TAG_TYPE,
    'tagType',
    'u16',
    'tag type',
    (p) => p.tagType,
    (p, v) => void (p.tagType = v),
  ),
  def(
    CHUNK.EVENT_TYPE,
    'eventType',
    'u16',
    'event type',
    (p) => p.eventType,
    (p, v) => void (p.eventType = v),
  ),
  def(
    CHUNK.GROUP_ID,
    'groupId',
    'text',
    'group id',
    (p) => p.groupId,
    (p, v) => void (p.groupId = v),
  ),
]

/** The chunk table, each field numbered by its first appearance (srcIp and dstIp have two chunks). */
export const CHUNK_DEFS: readonly ChunkDef[] = (() => {
  const fields: HepField[] = []
  for (const d of ROWS) if (!fields.includes(d.field)) fields.push(d.field)
  const idOf = (d: ChunkDef, kind: ChunkKind) =>
    ROWS.find((x) => x.field === d.field && x.kind === kind)?.id ?? d.id
  return ROWS.map((d) => ({
    ...d,
    slot: fields.indexOf(d.field),
    id4: idOf(d, 'inet4'),
    id6: idOf(d, 'inet6'),
  }))
})()

/** Lookup by generic chunk id (sparse array: undefined for unknown/reserved ids). */
export const CHUNK_BY_ID: readonly (ChunkDef | undefined)[] = (() => {
  const t: (ChunkDef | undefined)[] = new Array(CHUNK.GROUP_ID + 1).fill(undefined)
  for (const d of CHUNK_DEFS) t[d.id] = d
  return t
})()

/** Chunk id carrying a field, for fields with one chunk (srcIp/dstIp depend on the address family). */
export const FIELD_CHUNK: Readonly<Partial<Record<HepField, number>>> = (() => {
  const m: Partial<Record<HepField, number>> = {}
  for (const d of CHUNK_DEFS) if (m[d.field] === undefined) m[d.field] = d.id
  return m
})()

/** "0x000f" */
export function chunkIdHex(n: number): string {
  return '0x' + n.toString(16).padStart(4, '0')
}
