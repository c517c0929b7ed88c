/**
 * The capture reader: pcap (µs/ns, either byte order, the modified variant), pcapng (several sections of
 * either byte order, per-interface link type, if_tsresol, if_tsoffset; EPB, SPB and the obsolete PB) and
 * gzip-compressed input of either, streamed with bounded memory.
 *
 *   format.ts      what it yields, the magics and their one detection, the layer contract, byte reads
 *   parser.ts      the chunk machine: detects the format, hands whole units to its layer (records as views)
 *   pcap.ts        classic pcap: the file header and the records
 *   pcapng.ts      pcapng blocks: sections, the one EPB parser (also PB), SPB, skipped blocks
 *   interfaces.ts  pcapng interfaces (IDB, ISB) and their clocks: if_tsresol, if_tsoffset, exact split
 *   source.ts      files, FIFOs, stdin, gzip: one push loop
 *   pipe.ts        a FIFO named as an input, read as a pipe (Ctrl-C can stop it); every input reader uses it
 *
 * Malformed input is reported as a CaptureError, thrown from the iterator after every good record before it.
 */
export { CaptureParser } from './parser.js'
export { CaptureReader, readAll } from './source.js'
export { describeBytes, isCaptureMagic, pcapMagic } from './format.js'
export {
  DEFAULT_MAX_RECORD_LENGTH,
  DEFAULT_READ_SIZE,
  LINKTYPE,
  type CaptureInfo,
  type CaptureRecord,
  type InterfaceStats,
  type ReadOptions,
} from './format.js'
