/**
 * A small, fast SIP scan: recognises a SIP message by its start line (not by port) and pulls out the
 * few header values a capture converter needs. Bytes are scanned in place; only the start line and the
 * wanted header values become strings.
 *
 * Start line (RFC 3261 section 7.1 / 7.2), CRLF-terminated:
 *   request:  Method SP Request-URI SP "SIP/2.0" CRLF   (Method = token; the URI has a scheme and ":")
 *   response: "SIP/2.0" SP 3DIGIT SP Reason-Phrase CRLF (status 100-699; an empty reason may omit the SP)
 * Headers: names case-insensitive, compact forms (i = Call-ID, l = Content-Length; f, t, v, m, c exist
 * but are not needed here), whitespace before the colon tolerated, first occurrence wins, folded
 * continuation lines ignored. The header section ends at the first empty line (CRLF CRLF; a bare LF
 * before the blank line is tolerated); a body is never looked at.
 */

export interface SipInfo {
  kind: 'request' | 'response'
  /** requests */
  method?: string
  requestUri?: string
  /** responses */
  statusCode?: number
  reason?: string
  /** Call-ID or compact i: */
  callId?: string
  cseq?: { seq: number; method: string }
  /** Content-Length or compact l:, any case; undefined if absent or not a number */
  contentLength?: number
  /** bytes up to and including the blank line ending the headers (CRLFCRLF), or -1 if not seen */
  headerLength: number
  /** the start line without its CRLF */
  startLine: string
}

const CR = 13
const LF = 10
const SP = 32
const HT = 9
const COLON = 58

/** RFC 3261 token characters: alphanum and - . ! % * _ + ` ' ~ */
const TOKEN = new Uint8Array(256)
for (let c = 48; c <= 57; c++) TOKEN[c] = 1
for (let c = 65; c <= 90; c++) TOKEN[c] = 1
for (let c = 97; c <= 122; c++) TOKEN[c] = 1
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1

/** "SIP/2.0" */
const V0 = 0x53
const V1 = 0x49
const V2 = 0x50
const V3 = 0x2f
const V4 = 0x32
const V5 = 0x2e
const V6 = 0x30

function isVersion(buf: Uint8Array, i: number): boolean {
  return (
    buf[i] === V0 &&
    buf[i + 1] === V1 &&
    buf[i + 2] === V2 &&
    buf[i + 3] === V3 &&
    buf[i + 4] === V4 &&
    buf[i + 5] === V5 &&
    buf[i + 6] === V6
  )
}

/** Scratch output of startLine(): valid until the next call. */
const line = {
  response: false,
  /** request: end of the method; URI is [uriStart, uriEnd) */
  methodEnd: 0,
  uriStart: 0,
  uriEnd: 0,
  /** response */
  status: 0,
  reasonStart: 0,
  /** the start line has bytes >= 0x80 (so byte offsets are not string offsets) */
  nonAscii: false,
}

/** Validates the start line; returns the index of its CR, or -1 if `buf` does not start with one. */
function startLine(buf: Uint8Array): number {
  const len = buf.length
  if (len < 12) return -1
  if (isVersion(buf, 0)) {
    // SIP/2.0 SP 3DIGIT SP reason CRLF
    if (buf[7] !== SP) return -1
    const d0 = buf[8] - 48
    const d1 = buf[9] - 48
    const d2 = buf[10] - 48
    if (d0 < 1 || d0 > 6 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return -1
    let i = 11
    if (buf[i] === SP) i++
    else if (buf[i] !== CR) return -1
    const reasonStart = i
    let high = 0
    while (i < len) {
      const c = buf[i]
      if (c === CR) break
      if (c === LF || (c < SP && c !== HT)) return -1
      high |= c
      i++
    }
    if (i + 1 >= len || buf[i + 1] !== LF) return -1
    line.nonAscii = high >= 0x80
    line.response = true
    line.status = d0 * 100 + d1 * 10 + d2
    line.reasonStart = reasonStart
    return i
  }
  // Method SP Request-URI SP SIP/2.0 CRLF
  let i = 0
  while (i < len && TOKEN[buf[i]] === 1) i++
  if (i === 0 || i >= len || buf[i] !== SP) return -1
  const methodEnd = i
  const uriStart = ++i
  // scheme: ALPHA *( ALPHA / DIGIT / + - . ) ":"
  const c0 = buf[i] | 0x20
  if (c0 < 97 || c0 > 122) return -1
  let colon = false
  let high = 0
  while (i < len) {
    const c = buf[i]
    if (c <= SP || c === 127) break
    if (c === COLON) colon = true
    high |= c
    i++
  }
  if (!colon || i + 10 > len || buf[i] !== SP) return -1
  const uriEnd = i
  if (!isVersion(buf, i + 1) || buf[i + 8] !== CR || buf[i + 9] !== LF) return -1
  line.nonAscii = high >= 0x80
  line.response = false
  line.methodEnd = methodEnd
  line.uriStart = uriStart
  line.uriEnd = uriEnd
  return i + 8
}

/** True if `buf` starts with a SIP request line or status line (the start line alone is checked). */
export function isSipStart(buf: Buffer): boolean {
  return startLine(buf) >= 0
}

/** Case-insensitive compare of buf[start, start + name.length) with lowercase ASCII `name`. */
function nameIs(buf: Uint8Array, start: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) {
    if ((buf[start + k] | 0x20) !== name.charCodeAt(k)) return false
  }
  return true
}

/** The decimal number buf[start, end) (digits only); -1 if empty, not all digits, or absurdly long. */
function digits(buf: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1
  let v = 0
  for (let i = start; i < end; i++) {
    const d = buf[i] - 48
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v
}

/** The methods of RFC 3261 and its extensions, returned as constants instead of decoding their bytes. */
export const SIP_METHODS: readonly string[] = [
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'INFO',
  'REFER',
  'MESSAGE',
  'UPDATE',
]
/** SIP_METHODS by length */
const SIP_METHODS_BY_LENGTH: string[][] = []
for (const m of SIP_METHODS) (SIP_METHODS_BY_LENGTH[m.length] ??= []).push(m)

function knownMethod(buf: Uint8Array, start: number, end: number): string | undefined {
  const list = SIP_METHODS_BY_LENGTH[end - start]
  if (list === undefined) return undefined
  outer: for (let k = 0; k < list.length; k++) {
    const m = list[k]
    for (let j = 0; j < m.length; j++) if (buf[start + j] !== m.charCodeAt(j)) continue outer
    return m
  }
  return undefined
}

const CALL_ID = 1
const CSEQ = 2
const CONTENT_LENGTH = 3

/** Scans a SIP message; undefined if `buf` does not start with a SIP start line. */
export function scanSip(buf: Buffer): SipInfo | undefined {
  const lineEnd = startLine(buf)
  if (lineEnd < 0) return undefined
  const response = line.response
  // one native decode for the whole start line; its parts are JS substrings when it is all ASCII
  const startText = buf.toString('utf8', 0, lineEnd)
  const ascii = !line.nonAscii
  let method: string | undefined
  let requestUri: string | undefined
  let statusCode: number | undefined
  let reason: string | undefined
  if (response) {
    statusCode = line.status
    reason = ascii ? startText.slice(line.reasonStart) : buf.toString('utf8', line.reasonStart, lineEnd)
  } else {
    method = knownMethod(buf, 0, line.methodEnd) ?? startText.slice(0, line.methodEnd)
    requestUri = ascii
      ? startText.slice(line.uriStart, line.uriEnd)
      : buf.toString('utf8', line.uriStart, line.uriEnd)
  }

  let callId: string | undefined
  let cseq: { seq: number; method: string } | undefined
  let contentLength: number | undefined
  let seenContentLength = false
  let headerLength = -1
  const len = buf.length
  let pos = lineEnd + 2
  while (pos < len) {
    const nl = buf.indexOf(LF, pos)
    if (nl < 0) break // an unterminated (cut) last line: not trusted
    let end = nl
    if (end > pos && buf[end - 1] === CR) end--
    if (end === pos) {
      headerLength = nl + 1
      break
    }
    // only lines starting with c, i or l can be wanted headers
    const c = buf[pos] | 0x20
    if (c === 0x63 || c === 0x69 || c === 0x6c) {
      let colon = pos
      while (colon < end && buf[colon] !== COLON) colon++
      if (colon < end) {
        let nameEnd = colon
        while (nameEnd > pos && (buf[nameEnd - 1] === SP || buf[nameEnd - 1] === HT)) nameEnd--
        let which = 0
        switch (nameEnd - pos) {
          case 1:
            which = c === 0x69 ? CALL_ID : c === 0x6c ? CONTENT_LENGTH : 0
            break
          case 4:
            if (nameIs(buf, pos, 'cseq')) which = CSEQ
            break
          case 7:
            if (nameIs(buf, pos, 'call-id')) which = CALL_ID
            break
          case 14:
            if (nameIs(buf, pos, 'content-length')) which = CONTENT_LENGTH
            break
        }
        if (which !== 0) {
          let vs = colon + 1
          while (vs < end && (buf[vs] === SP || buf[vs] === HT)) vs++
          let ve = end
          while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--
          if (which === CALL_ID) {
            if (callId === undefined) callId = buf.toString('utf8', vs, ve)
          } else if (which === CONTENT_LENGTH) {
            if (!seenContentLength) {
              seenContentLength = true
              const n = digits(buf, vs, ve)
              if (n >= 0) contentLength = n
            }
          } else if (cseq === undefined) {
            cseq = parseCSeq(buf, vs, ve)
          }
        }
      }
    }
    pos = nl + 1
  }
  return {
    kind: response ? 'response' : 'request',
    method,
    requestUri,
    statusCode,
    reason,
    callId,
    cseq,
    contentLength,
    headerLength,
    startLine: startText,
  }
}

/** CSeq value: 1*DIGIT LWS Method */
function parseCSeq(buf: Buffer, vs: number, ve: number): { seq: number; method: string } | undefined {
  let i = vs
  while (i < ve && buf[i] >= 48 && buf[i] <= 57) i++
  if (i === vs || i - vs > 10) return undefined
  const seq = digits(buf, vs, i)
  let m = i
  while (m < ve && (buf[m] === SP || buf[m] === HT)) m++
  if (m === i) return undefined
  let me = m
  while (me < ve && TOKEN[buf[me]] === 1) me++
  if (me === m || me !== ve) return undefined
  return { seq, method: knownMethod(buf, m, me) ?? buf.toString('latin1', m, me) }
}
