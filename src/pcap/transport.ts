/**
 * Transport layer: UDP, TCP and SCTP headers. Checksums are not validated (loopback captures carry
 * none). Results go into a reused scratch TransportHeader; nothing allocates.
 */

export const L4_OK = 0
export const L4_TRUNCATED = 1
export const L4_MALFORMED = 2

/** Scratch output of the parse functions, reused for every packet. */
export class TransportHeader {
  srcPort = 0
  dstPort = 0
  /** [payloadOffset, payloadEnd) in the buffer */
  payloadOffset = 0
  payloadEnd = 0
  /** the UDP length said more than was captured (payloadEnd is then the capture end) */
  truncated = false
  seq = 0
  ack = 0
  flags = 0
  window = 0
  error = ''
}

/**
 * UDP header at buf[off], IP payload ending at `end`. The payload length is the UDP length, bounded by
 * what was captured; UDP length 0 (IPv6 jumbogram) means "to the end of the IP payload".
 */
export function parseUdp(buf: Buffer, off: number, end: number, t: TransportHeader): number {
  if (end - off < 8) {
    t.error = 'UDP header'
    return L4_TRUNCATED
  }
  t.srcPort = (buf[off] << 8) | buf[off + 1]
  t.dstPort = (buf[off + 2] << 8) | buf[off + 3]
  let ulen = (buf[off + 4] << 8) | buf[off + 5]
  if (ulen === 0) ulen = end - off
  else if (ulen < 8) {
    t.error = 'UDP length < 8'
    return L4_MALFORMED
  }
  t.payloadOffset = off + 8
  if (off + ulen <= end) {
    t.payloadEnd = off + ulen
    t.truncated = false
  } else {
    t.payloadEnd = end
    t.truncated = true
  }
  return L4_OK
}

/** TCP header at buf[off] (data offset honoured, options skipped), IP payload ending at `end`. */
export function parseTcp(buf: Buffer, off: number, end: number, t: TransportHeader): number {
  if (end - off < 20) {
    t.error = 'TCP header'
    return L4_TRUNCATED
  }
  const doff = (buf[off + 12] >> 4) << 2
  if (doff < 20) {
    t.error = 'TCP data offset < 5'
    return L4_MALFORMED
  }
  if (end - off < doff) {
    t.error = 'TCP options'
    return L4_TRUNCATED
  }
  t.srcPort = (buf[off] << 8) | buf[off + 1]
  t.dstPort = (buf[off + 2] << 8) | buf[off + 3]
  t.seq = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0
  t.ack = ((buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11]) >>> 0
  t.flags = ((buf[off + 12] & 0x0f) << 8) | buf[off + 13]
  t.window = (buf[off + 14] << 8) | buf[off + 15]
  t.payloadOffset = off + doff
  t.payloadEnd = end
  t.truncated = false
  return L4_OK
}

/** SCTP common header (ports, verification tag, checksum); the payload is the raw chunks after it. */
export function parseSctp(buf: Buffer, off: number, end: number, t: TransportHeader): number {
  if (end - off < 12) {
    t.error = 'SCTP common header'
    return L4_TRUNCATED
  }
  t.srcPort = (buf[off] << 8) | buf[off + 1]
  t.dstPort = (buf[off + 2] << 8) | buf[off + 3]
  t.payloadOffset = off + 12
  t.payloadEnd = end
  t.truncated = false
  return L4_OK
}
