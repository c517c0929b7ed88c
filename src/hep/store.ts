/**
 * The decoder's store of a field's value by chunk id: one `switch` with a static property store per
 * field. A call through each row's own `set` (34 functions at one call site) is megamorphic and never
 * inlined; this keeps HEP3 decode at the speed of the generated decoder it replaced (bench/codec.js,
 * "decode"). The cases are the chunk table's rows (chunks.ts): test/hep/store.test.ts checks that for
 * every row `storeField(p, d.id, x)` does what `d.set(p, x)` does, and that no row is missing.
 */
import type { KindValue, ChunkKind } from './chunks.js'
import type { HepPacket } from './packet.js'

/** Sets the field that generic chunk `id` carries; returns false for an id without a field. */
export function storeField(p: HepPacket, id: number, x: KindValue[ChunkKind]): boolean {
  // numeric literal cases: Ignition compiles a dense switch of literals into one jump table
  switch (id) {
    case 0x0001: // IP_FAMILY
      p.protocolFamily = x as number
      return true
    case 0x0002: // IP_PROTOCOL
      p.protocol = x as number
      return true
    case 0x0003: // SRC_IP4
      p.srcIp = x as string
      return true
    case 0x0004: // DST_IP4
      p.dstIp = x as string
      return true
    case 0x0005: // SRC_IP6
      p.srcIp = x as string
      return true
    case 0x0006: // DST_IP6
      p.dstIp = x as string
      return true
    case 0x0007: // SRC_PORT
      p.srcPort = x as number
      return true
    case 0x0008: // DST_PORT
      p.dstPort = x as number
      return true
    case 0x0009: // TIME_SECONDS
      p.timeSeconds = x as number
      return true
    case 0x000a: // TIME_USECONDS
      p.timeUseconds = x as number
      return true
    case 0x000b: // PAYLOAD_TYPE
      p.payloadType = x as number
      return true
    case 0x000c: // CAPTURE_ID
      p.captureId = x as number
      return true
    case 0x000d: // KEEPALIVE
      p.keepAliveTimer = x as number
      return true
    case 0x000e: // AUTH_KEY
      p.authKey = x as string
      return true
    case 0x000f: // PAYLOAD
      p.payload = x as Buffer
      return true
    case 0x0010: // COMPRESSED_PAYLOAD
      p.compressedPayload = x as Buffer
      return true
    case 0x0011: // CORRELATION_ID
      p.correlationId = x as string
      return true
    case 0x0012: // VLAN_ID
      p.vlanId = x as number
      return true
    case 0x0013: // NODE_NAME
      p.nodeName = x as string
      return true
    case 0x0014: // SRC_MAC
      p.srcMac = x as string
      return true
    case 0x0015: // DST_MAC
      p.dstMac = x as string
      return true
    case 0x0016: // ETHERNET_TYPE
      p.ethernetType = x as number
      return true
    case 0x0017: // TCP_FLAGS
      p.tcpFlags = x as number
      return true
    case 0x0018: // IP_TOS
      p.ipTos = x as number
      return true
    case 0x0020: // MOS
      p.mos = x as number
      return true
    case 0x0021: // R_FACTOR
      p.rFactor = x as number
      return true
    case 0x0022: // GEO_LOCATION
      p.geoLocation = x as string
      return true
    case 0x0023: // JITTER
      p.jitter = x as number
      return true
    case 0x0024: // TRANSACTION_TYPE
      p.transactionType = x as string
      return true
    case 0x0025: // PAYLOAD_JSON_KEYS
      p.payloadJsonKeys = x as string
      return true
    case 0x0026: // TAG_VALUES
      p.tagValues = x as string
      return true
    case 0x0027: // TAG_TYPE
      p.tagType = x as number
      return true
    case 0x0028: // EVENT_TYPE
      p.eventType = x as number
      return true
    case 0x0029: // GROUP_ID
      p.groupId = x as string
      return true
    default:
      return false
  }
}
