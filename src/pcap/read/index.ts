/**
 * The capture reader: pcap (µs/ns, either byte order, the modified variant), pcapng (several sections of
 * either byte order, per-interface link type, if_tsresol, if_tsoffset; EPB, SPB and the obsolete PB) and
 * gzip-compressed input of either, streamed with bounded memory.
 *
 *   detect.ts   what a file is, from its magic       parser.ts  the chunk machine (records as views)
 *   pcap.ts     classic pcap header and records      pcapng.ts  pcapng blocks, one EPB parser
 *   time.ts     timestamp resolution and offset      source.ts  files, FIFOs, stdin, gzip; one push loop
 *
 * Malformed input is reported as a CaptureError, thrown from the iterator after every good record before it.
 */
export { CaptureParser } from './parser.js'
export { CaptureReader, readAll } from './source.js'
export { describeBytes, isCaptureMagic, pcapMagic } from './detect.js'
export {
  DEFAULT_MAX_RECORD_LENGTH,
  DEFAULT_READ_SIZE,
  LINKTYPE,
  type CaptureInfo,
  type CaptureRecord,
  type InterfaceStats,
  type ReadOptions,
} from './types.js'
