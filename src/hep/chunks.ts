/**
 * THE chunk table: one entry per generic (vendor 0) chunk id. HEP v3 decode, encode, encodingLength,
 * the JSON form and the chunk table printed by `--chunks` are all driven by it, so they cannot drift.
 */
import { CHUNK } from './constants.js'
import type { HepField } from './packet.js'

/**
 * How a chunk value is carried:
 * u8/u16/u32: unsigned big-endian integers (fixed width); u64: 8 bytes shown as colon hex (MACs);
 * inet4/inet6: addresses (fixed width); text: octets that are UTF-8 text; bytes: octets kept as bytes.
 */
export type ChunkKind = 'u8' | 'u16' | 'u32' | 'u64' | 'inet4' | 'inet6' | 'text' | 'bytes'

export interface ChunkDef {
  id: number
  field: HepField
  kind: ChunkKind
  /** value width in bytes for fixed-width kinds, 0 for variable */
  width: number
  /** human description for tables */
  label: string
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

const def = (id: number, field: HepField, kind: ChunkKind, label: string): ChunkDef => ({
  id,
  field,
  kind,
  width: WIDTH[kind],
  label,
})

export const CHUNK_DEFS: readonly ChunkDef[] = [
  def(CHUNK.IP_FAMILY, 'protocolFamily', 'u8', 'IP family'),
  def(CHUNK.IP_PROTOCOL, 'protocol', 'u8', 'IP protocol'),
  def(CHUNK.SRC_IP4, 'srcIp', 'inet4', 'IPv4 source'),
  def(CHUNK.DST_IP4, 'dstIp', 'inet4', 'IPv4 destination'),
  def(CHUNK.SRC_IP6, 'srcIp', 'inet6', 'IPv6 source'),
  def(CHUNK.DST_IP6, 'dstIp', 'inet6', 'IPv6 destination'),
  def(CHUNK.SRC_PORT, 'srcPort', 'u16', 'source port'),
  def(CHUNK.DST_PORT, 'dstPort', 'u16', 'destination port'),
  def(CHUNK.TIME_SECONDS, 'timeSeconds', 'u32', 'timestamp seconds'),
  def(CHUNK.TIME_USECONDS, 'timeUseconds', 'u32', 'timestamp microseconds'),
  def(CHUNK.PAYLOAD_TYPE, 'payloadType', 'u8', 'protocol type'),
  def(CHUNK.CAPTURE_ID, 'captureId', 'u32', 'capture agent id'),
  def(CHUNK.KEEPALIVE, 'keepAliveTimer', 'u16', 'keep-alive timer'),
  def(CHUNK.AUTH_KEY, 'authKey', 'text', 'authentication key'),
  def(CHUNK.PAYLOAD, 'payload', 'bytes', 'payload'),
  def(CHUNK.COMPRESSED_PAYLOAD, 'compressedPayload', 'bytes', 'compressed payload'),
  def(CHUNK.CORRELATION_ID, 'correlationId', 'text', 'correlation id'),
  def(CHUNK.VLAN_ID, 'vlanId', 'u16', 'VLAN id'),
  def(CHUNK.NODE_NAME, 'nodeName', 'text', 'capture node name'),
  def(CHUNK.SRC_MAC, 'srcMac', 'u64', 'source MAC'),
  def(CHUNK.DST_MAC, 'dstMac', 'u64', 'destination MAC'),
  def(CHUNK.ETHERNET_TYPE, 'ethernetType', 'u16', 'Ethernet type'),
  def(CHUNK.TCP_FLAGS, 'tcpFlags', 'u8', 'TCP flags'),
  def(CHUNK.IP_TOS, 'ipTos', 'u8', 'IP TOS'),
  def(CHUNK.MOS, 'mos', 'u16', 'MOS'),
  def(CHUNK.R_FACTOR, 'rFactor', 'u16', 'R-factor'),
  def(CHUNK.GEO_LOCATION, 'geoLocation', 'text', 'GEO location'),
  def(CHUNK.JITTER, 'jitter', 'u32', 'jitter'),
  def(CHUNK.TRANSACTION_TYPE, 'transactionType', 'text', 'transaction type'),
  def(CHUNK.PAYLOAD_JSON_KEYS, 'payloadJsonKeys', 'text', 'payload JSON keys'),
  def(CHUNK.TAG_VALUES, 'tagValues', 'text', 'tag values'),
  def(CHUNK.TAG_TYPE, 'tagType', 'u16', 'tag type'),
  def(CHUNK.EVENT_TYPE, 'eventType', 'u16', 'event type'),
  def(CHUNK.GROUP_ID, 'groupId', 'text', 'group id'),
]

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

/**
 * The order the encoder uses when a packet carries no chunk list: Kamailio's (1,2,3|5,4|6,7..12),
 * then the optional chunks by id, the payload last (as every sender puts it).
 */
export const CANONICAL_ORDER: readonly number[] = [
  CHUNK.IP_FAMILY,
  CHUNK.IP_PROTOCOL,
  CHUNK.SRC_IP4,
  CHUNK.DST_IP4,
  CHUNK.SRC_PORT,
  CHUNK.DST_PORT,
  CHUNK.TIME_SECONDS,
  CHUNK.TIME_USECONDS,
  CHUNK.PAYLOAD_TYPE,
  CHUNK.CAPTURE_ID,
  CHUNK.KEEPALIVE,
  CHUNK.CORRELATION_ID,
  CHUNK.AUTH_KEY,
  CHUNK.VLAN_ID,
  CHUNK.NODE_NAME,
  CHUNK.SRC_MAC,
  CHUNK.DST_MAC,
  CHUNK.ETHERNET_TYPE,
  CHUNK.TCP_FLAGS,
  CHUNK.IP_TOS,
  CHUNK.MOS,
  CHUNK.R_FACTOR,
  CHUNK.GEO_LOCATION,
  CHUNK.JITTER,
  CHUNK.TRANSACTION_TYPE,
  CHUNK.PAYLOAD_JSON_KEYS,
  CHUNK.TAG_VALUES,
  CHUNK.TAG_TYPE,
  CHUNK.EVENT_TYPE,
  CHUNK.GROUP_ID,
  CHUNK.PAYLOAD,
  CHUNK.COMPRESSED_PAYLOAD,
]

/** "0x000f" */
export function chunkIdHex(n: number): string {
  return '0x' + n.toString(16).padStart(4, '0')
}
