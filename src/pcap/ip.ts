/**
 * Network layer: IPv4 and IPv6 header parsing (IPv4 options, IPv6 extension header chains, fragment
 * fields). Checksums are not validated. Results go into a reused scratch IpHeader; nothing allocates.
 */

export const IPPROTO_HOPOPTS = 0
export const IPPROTO_IPIP = 4
export const IPPROTO_TCP = 6
export const IPPROTO_UDP = 17
export const IPPROTO_IPV6 = 41
export const IPPROTO_ROUTING = 43
export const IPPROTO_FRAGMENT = 44
export const IPPROTO_GRE = 47
export const IPPROTO_AH = 51
export const IPPROTO_DSTOPTS = 60
export const IPPROTO_SCTP = 132
/** Mobility (135), HIP (139) and Shim6 (140) use the generic extension-header layout. */
export const IPPROTO_MOBILITY = 135
export const IPPROTO_HIP = 139
export const IPPROTO_SHIM6 = 140

/** At most this many IPv6 extension headers in one chain before the packet is called malformed. */
export const MAX_EXT_HEADERS = 16

export const IP_OK = 0
export const IP_TRUNCATED = 1
export const IP_MALFORMED = 2

/** Scratch output of parseIPv4 / parseIPv6, reused for every packet. */
export class IpHeader {
  version: 4 | 6 = 4
  /** IPv4 protocol, or for IPv6 the header that follows the extension headers walked */
  protocol = 0
  /** IPv4 TTL / IPv6 hop limit */
  ttl = 0
  /** offsets of the source and destination addresses in the buffer */
  srcOffset = 0
  dstOffset = 0
  /** upper-layer data: [payloadOffset, payloadEnd) */
  payloadOffset = 0
  payloadEnd = 0
  /** the captured bytes ended before the length the header gives (payloadEnd is then the capture end) */
  truncated = false
  /** a non-atomic fragment: `protocol` is the fragment's next header, [payloadOffset, payloadEnd) its data */
  fragment = false
  fragmentId = 0
  /** byte offset of this fragment in the reassembled data */
  fragmentOffset = 0
  moreFragments = false
  /** static text saying what was wrong when a parse returns IP_TRUNCATED / IP_MALFORMED */
  error = ''
}

/**
 * IPv4 header at buf[off], the captured packet ending at `end`. The payload end honours Total Length
 * (so Ethernet padding is dropped); Total Length 0 (TCP segmentation offload) means "as captured".
 */
export function parseIPv4(buf: Buffer, off: number, end: number, h: IpHeader): number {
  if (end - off < 20) {
    h.error = 'IPv4 header'
    return IP_TRUNCATED
  }
  const b0 = buf[off]
  if (b0 >> 4 !== 4) {
    h.error = 'IPv4 version nibble is not 4'
    return IP_MALFORMED
  }
  const ihl = (b0 & 0x0f) << 2
  if (ihl < 20) {
    h.error = 'IPv4 header length < 20'
    return IP_MALFORMED
  }
  let total = (buf[off + 2] << 8) | buf[off + 3]
  const flagsFrag = (buf[off + 6] << 8) | buf[off + 7]
  const fragOffset = (flagsFrag & 0x1fff) << 3
  const more = (flagsFrag & 0x2000) !== 0
  if (total === 0 && !more && fragOffset === 0) total = end - off
  if (total < ihl) {
    h.error = 'IPv4 total length < header length'
    return IP_MALFORMED
  }
  if (end - off < ihl) {
    h.error = 'IPv4 options'
    return IP_TRUNCATED
  }
  h.version = 4
  h.protocol = buf[off + 9]
  h.ttl = buf[off + 8]
  h.srcOffset = off + 12
  h.dstOffset = off + 16
  h.payloadOffset = off + ihl
  if (off + total <= end) {
    h.payloadEnd = off + total
    h.truncated = false
  } else {
    h.payloadEnd = end
    h.truncated = true
  }
  h.fragment = more || fragOffset !== 0
  h.moreFragments = more
  h.fragmentOffset = fragOffset
  h.fragmentId = (buf[off + 4] << 8) | buf[off + 5]
  return IP_OK
}

/**
 * IPv6 header at buf[off]: fixed header, then the extension header chain (see walkIPv6). Payload
 * Length honours the Ethernet padding; Payload Length 0 with a hop-by-hop header (jumbogram) means
 * "as captured".
 */
export function parseIPv6(buf: Buffer, off: number, end: number, h: IpHeader): number {
  if (end - off < 40) {
    h.error = 'IPv6 header'
    return IP_TRUNCATED
  }
  if (buf[off] >> 4 !== 6) {
    h.error = 'IPv6 version nibble is not 6'
    return IP_MALFORMED
  }
  const plen = (buf[off + 4] << 8) | buf[off + 5]
  const next = buf[off + 6]
  h.version = 6
  h.ttl = buf[off + 7]
  h.srcOffset = off + 8
  h.dstOffset = off + 24
  const start = off + 40
  let stop = start + plen
  if (plen === 0 && next === IPPROTO_HOPOPTS) stop = end
  if (stop <= end) {
    h.truncated = false
  } else {
    stop = end
    h.truncated = true
  }
  h.payloadEnd = stop
  return walkIPv6(buf, start, stop, next, h)
}

/**
 * Walks IPv6 extension headers starting with header type `next` at buf[off], up to `end`: hop-by-hop,
 * routing, destination options, mobility/HIP/shim6 ((len + 1) * 8 bytes), AH ((len + 2) * 4 bytes)
 * and the fragment header (8 bytes). Stops at the first upper-layer protocol (UDP, TCP, ICMPv6, ESP,
 * no next header...), or after a non-atomic fragment header (what follows it is fragment data).
 * Sets protocol, payloadOffset and the fragment fields; payloadEnd must already be set to `end`.
 */
export function walkIPv6(buf: Buffer, off: number, end: number, next: number, h: IpHeader): number {
  h.fragment = false
  h.moreFragments = false
  h.fragmentOffset = 0
  h.fragmentId = 0
  for (let n = 0; ; n++) {
    let len: number
    switch (next) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS:
      case IPPROTO_MOBILITY:
      case IPPROTO_HIP:
      case IPPROTO_SHIM6:
        if (end - off < 2) return extTruncated(h)
        len = (buf[off + 1] + 1) << 3
        break
      case IPPROTO_AH:
        if (end - off < 2) return extTruncated(h)
        len = (buf[off + 1] + 2) << 2
        break
      case IPPROTO_FRAGMENT: {
        if (end - off < 8) return extTruncated(h)
        const fo = (buf[off + 2] << 8) | buf[off + 3]
        const fragOffset = fo & 0xfff8
        const more = (fo & 1) !== 0
        if (fragOffset !== 0 || more) {
          h.fragment = true
          h.moreFragments = more
          h.fragmentOffset = fragOffset
          h.fragmentId =
            ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0
          h.protocol = buf[off]
          h.payloadOffset = off + 8
          return IP_OK
        }
        len = 8 // atomic fragment (RFC 6946): just skip it
        break
      }
      default:
        h.protocol = next
        h.payloadOffset = off
        return IP_OK
    }
    if (n >= MAX_EXT_HEADERS) {
      h.error = 'more than 16 IPv6 extension headers'
      return IP_MALFORMED
    }
    if (end - off < len) return extTruncated(h)
    next = buf[off]
    off += len
  }
}

function extTruncated(h: IpHeader): number {
  h.error = 'IPv6 extension header'
  return IP_TRUNCATED
}

/** True for IPv6 next-header values walkIPv6 steps over. */
export function isIPv6ExtensionHeader(p: number): boolean {
  return (
    p === IPPROTO_HOPOPTS ||
    p === IPPROTO_ROUTING ||
    p === IPPROTO_DSTOPTS ||
    p === IPPROTO_AH ||
    p === IPPROTO_FRAGMENT ||
    p === IPPROTO_MOBILITY ||
    p === IPPROTO_HIP ||
    p === IPPROTO_SHIM6
  )
}
