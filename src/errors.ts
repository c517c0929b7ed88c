/**
 * Typed errors shared by every part of hep. Nothing in src/ throws a bare Error for bad input:
 * a caller (and `--json`) can act on `code`, `offset` and `field`.
 */

/** Stable error codes. Documented in the README; never rename one. */
export type HepErrorCode =
  // HEP codec
  | 'HEP_TRUNCATED' // fewer bytes than a header or field needs
  | 'HEP_BAD_MAGIC' // a HEP3 stream or packet that does not start with "HEP3"
  | 'HEP_BAD_VERSION' // first byte is neither 1, 2 nor "H"
  | 'HEP_BAD_FAMILY' // v1/v2 address family other than 2 or 10
  | 'HEP_BAD_LENGTH' // a length that contradicts its container (total length vs datagram, < 6)
  | 'HEP_CHUNK_LENGTH' // chunk length < 6 or past the packet's total length
  | 'HEP_CHUNK_WIDTH' // fixed-width chunk with the wrong width
  | 'HEP_TOO_LONG' // packet longer than the allowed maximum (framer, encoder)
  | 'HEP_ENCODE' // a value that cannot be encoded (missing address, capture id too large for v2...)
  | 'HEP_JSON' // a JSON form that cannot be turned into a packet
  // captures
  | 'CAPTURE_FORMAT' // not a pcap/pcapng file, bad magic, unsupported version
  | 'CAPTURE_TRUNCATED' // file cut off mid-record
  | 'CAPTURE_RECORD_LENGTH' // a record length past any sane bound
  | 'CAPTURE_BLOCK' // a malformed pcapng block
  // input in general
  | 'INPUT_FORMAT' // unrecognised input (hex line that is not hex, JSON that does not parse...)
  | 'PATH' // an input or output path that cannot be used (missing, a directory, the input as output...)
  | 'NET' // network errors (socket layer)

/**
 * Our own bug, never the input's fault: reported as such (exit 70 from the CLI), never dressed up as a
 * decode error. `cause` is what was thrown.
 */
export class InternalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'InternalError'
  }
}

export class HepError extends Error {
  readonly code: HepErrorCode
  constructor(code: HepErrorCode, message: string) {
    super(message)
    this.name = 'HepError'
    this.code = code
  }
}

/**
 * Malformed input: where (byte offset from the start of the packet or file), what (field) and why.
 * message: "<field> at byte <offset>: <detail>"
 */
export class DecodeError extends HepError {
  readonly offset: number
  readonly field: string
  readonly detail: string
  constructor(code: HepErrorCode, offset: number, field: string, detail: string) {
    super(code, `${field} at byte ${offset}: ${detail}`)
    this.name = 'DecodeError'
    this.offset = offset
    this.field = field
    this.detail = detail
  }
}

/** A capture file problem, naming the record (1-based, as Wireshark numbers frames) and file offset. */
export class CaptureError extends HepError {
  readonly record: number
  readonly offset: number
  /** the input ended before its first byte (an empty file, or a pipe a stop ended before it wrote) */
  empty = false
  constructor(code: HepErrorCode, record: number, offset: number, detail: string) {
    super(code, `record ${record} at byte ${offset}: ${detail}`)
    this.name = 'CaptureError'
    this.record = record
    this.offset = offset
  }
}

export function isHepError(e: unknown): e is HepError {
  return e instanceof HepError
}
