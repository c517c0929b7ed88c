/**
 * What the packet decoder returns for one captured frame.
 */

/**
 * Why a frame was not decoded to a transport payload.
 *
 * - `unknown-link-type`: the capture's link-layer type is not one the decoder knows (it is counted in
 *   `stats.unknownLinkTypes`, never guessed as Ethernet).
 * - `not-ip`: the link layer carries something other than IPv4/IPv6 (ARP, LLDP, 802.3/LLC, an unknown
 *   NULL/LOOP address family, a raw-IP frame whose version nibble is neither 4 nor 6...).
 * - `truncated`: fewer bytes were captured than a header or a length field needs (snaplen, a record cut
 *   short). `detail` names the layer.
 * - `malformed`: header fields that contradict themselves or the protocol (IPv4 IHL < 5, a version
 *   nibble that does not match the ethertype, UDP length < 8, TCP data offset < 5, too many stacked VLAN
 *   tags / IPv6 extension headers / nested tunnels).
 * - `fragment-dropped`: an IP fragment that was thrown away rather than held: bigger than the memory cap,
 *   past the 64 KiB datagram limit, or contradicting the fragments already held (a second, different
 *   last fragment); or the datagram it belonged to was evicted by the memory cap when it arrived.
 */
export type SkipReason = 'unknown-link-type' | 'not-ip' | 'truncated' | 'malformed' | 'fragment-dropped'

export interface TcpInfo {
  seq: number
  ack: number
  /** the 12 bits after the data offset, as tshark's tcp.flags (FIN 1, SYN 2, RST 4, PSH 8, ACK 0x10...) */
  flags: number
  /** raw window field, not scaled */
  window: number
}

export interface TransportResult {
  kind: 'udp' | 'tcp' | 'sctp'
  ipVersion: 4 | 6
  src: string
  dst: string
  srcPort: number
  dstPort: number
  /** a view into the captured frame (or into the reassembled datagram); never a copy */
  payload: Buffer
  /** VLAN id of the innermost 802.1Q tag (the C-tag of QinQ, as tshark's vlan.id); undefined if untagged */
  vlan?: number
  /** IPv4 TTL / IPv6 hop limit of the innermost IP header */
  ttl?: number
  /** TCP only */
  tcp?: TcpInfo
  /** number of IP fragments the datagram was reassembled from; undefined if it was not fragmented */
  fragments?: number
  /**
   * Only with `acceptTruncated`: the frame was captured shorter than its IP/transport lengths say, and
   * `payload` holds just the captured bytes. Otherwise such frames are skipped as 'truncated'.
   */
  truncated?: boolean
}

export interface OtherResult {
  kind: 'other'
  ipVersion: 4 | 6
  /**
   * the upper-layer protocol number (ICMP 1, ICMPv6 58, ESP 50, no next header 59...; GRE 47 when the
   * tunnel is not one that is opened: PPTP's GRE version 1, a protocol type other than IPv4, IPv6,
   * Ethernet bridging or ERSPAN)
   */
  protocol: number
  src: string
  dst: string
}

export interface PendingResult {
  kind: 'pending'
}

export interface SkipResult {
  kind: 'skip'
  reason: SkipReason
  detail?: string
}

export type DecodeResult = TransportResult | OtherResult | PendingResult | SkipResult

export const PENDING: PendingResult = Object.freeze({ kind: 'pending' }) as PendingResult

export function skip(reason: SkipReason, detail?: string): SkipResult {
  return { kind: 'skip', reason, detail }
}
