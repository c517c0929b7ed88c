/**
 * Public entry point of the link / network / transport decoders: the PacketDecoder, its result types
 * and the link-layer type constants. The implementation is split by layer: link.ts, ip.ts,
 * transport.ts, fragments.ts, dispatch.ts, decoder.ts; address text in addr.ts.
 */

export {
  PacketDecoder,
  DEFAULT_FRAGMENT_MEMORY_CAP,
  DEFAULT_FRAGMENT_TIMEOUT_MS,
  type FrameInput,
  type PacketDecoderOptions,
  type PacketDecoderStats,
} from './decoder.js'
export type {
  DecodeResult,
  OtherResult,
  PendingResult,
  SkipReason,
  SkipResult,
  TcpInfo,
  TransportResult,
} from './result.js'
export {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_LEGACY_12,
  LINKTYPE_RAW_LEGACY_14,
} from './link.js'
export { ipv4ToString, ipv6ToString, parseIPv4, parseIPv6 } from './addr.js'
