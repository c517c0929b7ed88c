// The programmatic API of hep: re-exports only.
export * from './errors.js'
export * from './hep/index.js'
export * from './net/index.js'
// captures
export { CaptureReader, CaptureParser, LINKTYPE, isCaptureMagic } from './pcap/read/index.js'
export type { CaptureRecord, CaptureInfo, ReadOptions } from './pcap/read/index.js'
export { PcapWriter } from './pcap/writer.js'
export type { PcapWriterOptions, PcapWriterRecord } from './pcap/writer.js'
export { PacketDecoder } from './pcap/decoder.js'
export type { PacketDecoderOptions, PacketDecoderStats } from './pcap/decoder.js'
export type { DecodeResult, SkipReason, TransportResult } from './pcap/result.js'
export { TcpReassembler } from './pcap/tcp.js'
export { SctpReassembler } from './pcap/sctp.js'
export { FrameBuilder } from './pcap/synth.js'
export { CaptureExtractor } from './capture/extract.js'
export type { CapturedMessage, ExtractOptions, ExtractStats } from './capture/extract.js'
export { CaptureItems, messageToHep } from './capture/items.js'
// SIP
export { scanSip, isSipStart } from './sip/scan.js'
export type { SipInfo } from './sip/scan.js'
export { SipStreamFramer } from './sip/stream.js'
export { WebSocketFramer } from './sip/websocket.js'
// what the commands do, as library calls
export { readHep, readHepBatches } from './read/read-hep.js'
export { formatOrigin, makeItem } from './item/item.js'
export type { HepItem, Origin, CaptureFacts } from './item/item.js'
export { convertItems } from './convert/convert.js'
export type { ConvertOptions, ConvertStats } from './convert/convert.js'
export { openSink } from './convert/sinks.js'
export { sendItems } from './send/send.js'
export { applyEncodingOptions } from './hep/encoding-options.js'
export type { HepEncodingOptions } from './hep/encoding-options.js'
export { encodingLosses, oncePerKind } from './hep/lossy.js'
export type { EncodingLoss } from './hep/lossy.js'
export { checkInput, checkOutput, pathProblems, PathError } from './input/paths.js'
export { completePacket } from './hep/complete.js'
export {
  PacketFilter,
  filterOptionsFrom,
  matchedNothing,
  parsePortList,
  parsePortList as parsePortRanges,
} from './filter/filter.js'
export type { FilterOptions, FilterTexts } from './filter/filter.js'
export { replay, mergeByTime } from './replay/replay.js'
export type { ReplayOptions, ReplayStats } from './replay/replay.js'
export { Schedule, TimingStats, waitUntil } from './replay/scheduler.js'
export type { TimingMode, ScheduleOptions } from './replay/scheduler.js'
export { listen, hepSinkFormat } from './listen/listen.js'
export type {
  ListenSession,
  ListenSessionOptions,
  ListenHandlers,
  ListenResult,
  SavedOutput,
} from './listen/listen.js'
export { ListenStats } from './listen/stats.js'
