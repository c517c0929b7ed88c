/** HEP numbers: chunk ids, vendors, payload types, address families. Names only; no logic. */

export const HEP3_HEADER_LENGTH = 6
export const HEP3_MAX_LENGTH = 0xffff
export const CHUNK_HEADER_LENGTH = 6

export const AF_INET = 2
export const AF_INET6 = 10

export const IPPROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const

/** Generic chunk ids (vendor 0x0000), HEP3 spec rev37 */
export const CHUNK = {
  IP_FAMILY: 0x0001,
  IP_PROTOCOL: 0x0002,
  SRC_IP4: 0x0003,
  DST_IP4: 0x0004,
  SRC_IP6: 0x0005,
  DST_IP6: 0x0006,
  SRC_PORT: 0x0007,
  DST_PORT: 0x0008,
  TIME_SECONDS: 0x0009,
  TIME_USECONDS: 0x000a,
  PAYLOAD_TYPE: 0x000b,
  CAPTURE_ID: 0x000c,
  KEEPALIVE: 0x000d,
  AUTH_KEY: 0x000e,
  PAYLOAD: 0x000f,
  COMPRESSED_PAYLOAD: 0x0010,
  CORRELATION_ID: 0x0011,
  VLAN_ID: 0x0012,
  NODE_NAME: 0x0013,
  SRC_MAC: 0x0014,
  DST_MAC: 0x0015,
  ETHERNET_TYPE: 0x0016,
  TCP_FLAGS: 0x0017,
  IP_TOS: 0x0018,
  MOS: 0x0020,
  R_FACTOR: 0x0021,
  GEO_LOCATION: 0x0022,
  JITTER: 0x0023,
  TRANSACTION_TYPE: 0x0024,
  PAYLOAD_JSON_KEYS: 0x0025,
  TAG_VALUES: 0x0026,
  TAG_TYPE: 0x0027,
  EVENT_TYPE: 0x0028,
  GROUP_ID: 0x0029,
} as const

export const VENDORS: Record<number, string> = {
  0x0000: 'generic',
  0x0001: 'FreeSWITCH',
  0x0002: 'Kamailio',
  0x0003: 'OpenSIPS',
  0x0004: 'Asterisk',
  0x0005: 'Homer',
  0x0006: 'SipXecs',
  0x0007: 'Yeti Switch',
  0x0008: 'Genesys',
}

/** Payload (protocol) types of chunk 0x000b */
export const PAYLOAD_TYPES: Record<number, string> = {
  0: 'reserved',
  1: 'SIP',
  2: 'XMPP',
  3: 'SDP',
  4: 'RTP',
  5: 'RTCP',
  6: 'MGCP',
  7: 'MEGACO',
  8: 'M2UA',
  9: 'M3UA',
  10: 'IAX',
  11: 'H322',
  12: 'H321',
  13: 'M2PA',
  32: 'QoS',
  34: 'MOS',
  35: 'MOS-short',
  38: 'horaclifix',
  50: 'SIP-JSON',
  53: 'DNS',
  54: 'M3UA-JSON',
  55: 'RTSP',
  56: 'DIAMETER',
  57: 'GSM-MAP',
  58: 'RTCP-PION',
  60: 'CDR',
  61: 'Verto',
  99: 'report',
  100: 'LOG',
}

/** "sip" | "SIP" | "1" | "log" -> number; undefined if unknown */
export function payloadTypeFromName(name: string): number | undefined {
  if (/^\d+$/.test(name)) {
    const n = Number(name)
    return n <= 255 ? n : undefined
  }
  const lower = name.toLowerCase()
  for (const [k, v] of Object.entries(PAYLOAD_TYPES)) if (v.toLowerCase() === lower) return Number(k)
  return undefined
}

export function payloadTypeName(t: number | undefined): string {
  if (t === undefined) return '-'
  return PAYLOAD_TYPES[t] ?? `type ${t}`
}

export const IP_PROTOCOL_NAMES: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' }
