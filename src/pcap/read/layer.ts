/** What the chunk machine (parser.ts) needs of a capture format's record layer. */
import type { CaptureError, HepErrorCode } from '../../errors.js'
import type { CaptureRecord } from './types.js'

/** The parser's position, shared with the layer that parses the records. */
export interface ParseState {
  /** stream offset of byte 0 of the buffer being parsed */
  base: number
  /** records handed out so far (the last one's index) */
  count: number
  readonly maxRecord: number
  /** an error about the record after the last one counted, at a stream offset */
  fail(code: HepErrorCode, offset: number, detail: string): CaptureError
}

export interface RecordLayer {
  /** how truncation messages call a unit: "the file ends N bytes into a record" */
  readonly unitName: 'a record' | 'a block'
  /**
   * Bytes the unit at b[p] needs: the header size when fewer than a header's bytes are available, else
   * the whole unit's size. Throws a CaptureError for lengths out of bounds.
   */
  size(b: Buffer, p: number, avail: number, st: ParseState): number
  /** Parses the complete units in b[p..end) into `out`; returns where the first incomplete one starts. */
  run(b: Buffer, p: number, end: number, st: ParseState, out: CaptureRecord[]): number
}
