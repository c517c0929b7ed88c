/**
 * Link layer: finds where the network-layer packet starts in a captured frame and what it is (as an
 * ethertype), for the link-layer header types (LINKTYPE_* of the pcap/pcapng specs) we support.
 */

export const LINKTYPE_NULL = 0
export const LINKTYPE_ETHERNET = 1
/** DLT_RAW on some BSDs (12) and OpenBSD's DLT_RAW (14): raw IP like 101 */
export const LINKTYPE_RAW_LEGACY_12 = 12
export const LINKTYPE_RAW_LEGACY_14 = 14
export const LINKTYPE_RAW = 101
export const LINKTYPE_LOOP = 108
export const LINKTYPE_LINUX_SLL = 113
export const LINKTYPE_IPV4 = 228
export const LINKTYPE_IPV6 = 229
export const LINKTYPE_LINUX_SLL2 = 276

export const ETHERTYPE_IPV4 = 0x0800
export const ETHERTYPE_IPV6 = 0x86dd
export const ETHERTYPE_VLAN = 0x8100
export const ETHERTYPE_QINQ = 0x88a8
export const ETHERTYPE_QINQ_OLD = 0x9100
/** GRE protocol types of what a tunnel carries besides IP */
export const ETHERTYPE_TEB = 0x6558
export const ETHERTYPE_ERSPAN_II = 0x88be
export const ETHERTYPE_ERSPAN_III = 0x22eb

/** At most this many stacked VLAN tags before the frame is called malformed. */
export const MAX_VLAN_TAGS = 8

export const LINK_OK = 0
export const LINK_UNKNOWN = 1
export const LINK_TRUNCATED = 2
export const LINK_NOT_IP = 3
export const LINK_MALFORMED = 4

/** Scratch output of decodeLink, reused for every frame. */
export class LinkFrame {
  /** ethertype of the network-layer packet (0x0800, 0x86dd, or whatever else the frame carries) */
  netType = 0
  /** where the network-layer packet starts */
  offset = 0
  /** innermost VLAN id, -1 if untagged */
  vlan = -1
  /** for LINK_NOT_IP: the NULL/LOOP address family, or the raw-IP version nibble; otherwise 0 */
  family = 0
}

/**
 * Decodes the link-layer header of `buf` (a frame of link type `linkType`) into `out`.
 * Returns LINK_OK, LINK_UNKNOWN (unsupported link type), LINK_TRUNCATED, LINK_NOT_IP (out.netType /
 * out.family say what it was) or LINK_MALFORMED (too many VLAN tags).
 */
export function decodeLink(linkType: number, buf: Buffer, out: LinkFrame): number {
  out.vlan = -1
  out.family = 0
  const len = buf.length
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (len < 14) return LINK_TRUNCATED
      return ethertypeChain(buf, 12, out)
    case LINKTYPE_LINUX_SLL:
      // packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
      if (len < 16) return LINK_TRUNCATED
      return ethertypeChain(buf, 14, out)
    case LINKTYPE_LINUX_SLL2:
      // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) addr(8)
      if (len < 20) return LINK_TRUNCATED
      out.netType = (buf[0] << 8) | buf[1]
      out.offset = 20
      return vlanChain(buf, out, len)
    case LINKTYPE_NULL: {
      // 4-byte address family in the capturing host's byte order: accept either
      if (len < 4) return LINK_TRUNCATED
      let family = buf[0] | (buf[1] << 8) | (buf[2] << 16) | (buf[3] << 24)
      if ((family & 0xffff) === 0) family = (buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]
      return familyToNet(family >>> 0, out)
    }
    case LINKTYPE_LOOP: {
      // network byte order
      if (len < 4) return LINK_TRUNCATED
      return familyToNet(((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0, out)
    }
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_LEGACY_12:
    case LINKTYPE_RAW_LEGACY_14: {
      if (len < 1) return LINK_TRUNCATED
      const version = buf[0] >> 4
      out.offset = 0
      if (version === 4) out.netType = ETHERTYPE_IPV4
      else if (version === 6) out.netType = ETHERTYPE_IPV6
      else {
        out.netType = 0
        out.family = version
        return LINK_NOT_IP
      }
      return LINK_OK
    }
    case LINKTYPE_IPV4:
      out.netType = ETHERTYPE_IPV4
      out.offset = 0
      return LINK_OK
    case LINKTYPE_IPV6:
      out.netType = ETHERTYPE_IPV6
      out.offset = 0
      return LINK_OK
    default:
      return LINK_UNKNOWN
  }
}

/**
 * An Ethernet frame inside another packet (a tunnel: GRE transparent Ethernet bridging, ERSPAN,
 * VXLAN): buf[off, end). Same output as decodeLink for LINKTYPE_ETHERNET.
 */
export function decodeEthernetAt(buf: Buffer, off: number, end: number, out: LinkFrame): number {
  out.vlan = -1
  out.family = 0
  if (end - off < 14) return LINK_TRUNCATED
  out.netType = (buf[off + 12] << 8) | buf[off + 13]
  out.offset = off + 14
  return vlanChain(buf, out, end)
}

/** Reads the ethertype at buf[at] and continues with any VLAN tags. */
function ethertypeChain(buf: Buffer, at: number, out: LinkFrame): number {
  out.netType = (buf[at] << 8) | buf[at + 1]
  out.offset = at + 2
  return vlanChain(buf, out, buf.length)
}

/**
 * Skips stacked 802.1Q / 802.1ad tags (0x8100, 0x88a8, 0x9100), each TCI(2) + inner ethertype(2).
 * `vlan` ends up as the INNERMOST tag's VLAN id: for QinQ that is the customer tag (0x8100), which is
 * what tshark reports as vlan.id when the outer tag is 802.1ad (it reports the S-tag as ieee8021ad.id).
 */
function vlanChain(buf: Buffer, out: LinkFrame, end: number): number {
  let t = out.netType
  let off = out.offset
  let tags = 0
  while (t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ || t === ETHERTYPE_QINQ_OLD) {
    if (++tags > MAX_VLAN_TAGS) return LINK_MALFORMED
    if (off + 4 > end) return LINK_TRUNCATED
    out.vlan = ((buf[off] << 8) | buf[off + 1]) & 0x0fff
    t = (buf[off + 2] << 8) | buf[off + 3]
    off += 4
  }
  out.netType = t
  out.offset = off
  return t === ETHERTYPE_IPV4 || t === ETHERTYPE_IPV6 ? LINK_OK : LINK_NOT_IP
}

/** BSD address families: AF_INET 2; AF_INET6 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS). */
function familyToNet(family: number, out: LinkFrame): number {
  out.offset = 4
  out.family = family
  if (family === 2) {
    out.netType = ETHERTYPE_IPV4
    return LINK_OK
  }
  if (family === 24 || family === 28 || family === 30) {
    out.netType = ETHERTYPE_IPV6
    return LINK_OK
  }
  out.netType = 0
  return LINK_NOT_IP
}
