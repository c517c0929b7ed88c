/**
 * Where a call's RTCP goes, from the SDP of its SIP messages (RFC 4566, 3605, 5761): every RTP media
 * stream (m= with an RTP profile and a port other than 0) sends RTCP to the address of its c= line
 * (media level, else session level) on its port + 1, or to the port and address of `a=rtcp:`; with
 * `a=rtcp-mux`, RTCP may also share the RTP port. The SDP is found in the SIP body by its
 * Content-Type (application/sdp, also as a part of a multipart body) or, without one, by "v=0".
 *
 * The scan reads only the lines it needs (c=, m=, a=rtcp) of the message as one latin1 string (JS
 * string searches cost less than native Buffer searches this short). sdp-transform reads every line
 * with its grammar and took 6.5-14 µs per SDP here, while convert of a SIP capture spends about
 * 2 µs on a whole message: it is the oracle the tests check this scan against, not the scan itself
 * (`node bench/run.js rtcp` measures both on one offer: about 20× here).
 */
import { ipv6ToString, parseIPv4, parseIPv6 } from '../hep/ip.js'

/** An address and port a call's RTCP is sent to. */
export interface MediaEndpoint {
  ip: string
  port: number
  /** the RTP port, RTCP multiplexed on it (a=rtcp-mux) */
  mux: boolean
}

const CR = 13
const LF = 10

/** Addresses as the capture decoder writes them (IPv6 compressed, lower case); undefined if not an IP. */
export function normalIp(text: string): string | undefined {
  if (text.includes(':')) {
    const b = parseIPv6(text)
    return b === undefined ? undefined : ipv6ToString(b, 0)
  }
  if (canonicalIPv4(text)) return text
  const b = parseIPv4(text)
  return b === undefined ? undefined : `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
}

/** "10.0.0.1": four numbers 0..255 without leading zeros (what needs no rewriting). */
function canonicalIPv4(t: string): boolean {
  let parts = 0
  let digits = 0
  let value = 0
  for (let i = 0; i <= t.length; i++) {
    const c = i < t.length ? t.charCodeAt(i) : 46
    if (c === 46) {
      if (digits === 0 || value > 255 || ++parts > 4) return false
      digits = value = 0
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false
      value = value * 10 + c - 48
      if (++digits > 3) return false
    } else return false
  }
  return parts === 4
}

/** The end of the token starting at `i` (the next space or tab, or `end`). */
function tokenEnd(s: string, i: number, end: number): number {
  while (i < end && s.charCodeAt(i) !== 32 && s.charCodeAt(i) !== 9) i++
  return i
}

/** The start of the next token at or after `i`. */
function skipSpace(s: string, i: number, end: number): number {
  while (i < end && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++
  return i
}

/** A decimal number in s[i, j) (at most 5 digits); -1 if it is not one. */
function port_(s: string, i: number, j: number): number {
  if (j <= i || j - i > 5) return -1
  let n = 0
  for (let k = i; k < j; k++) {
    const c = s.charCodeAt(k)
    if (c < 48 || c > 57) return -1
    n = n * 10 + c - 48
  }
  return n
}

/**
 * "IN IP4 10.0.0.1/127" at s[i, end) -> "10.0.0.1"; undefined for an unspecified (0.0.0.0, ::) or
 * non-IP address.
 */
function connectionIp(s: string, i: number, end: number): string | undefined {
  i = skipSpace(s, i, end)
  if (s.charCodeAt(i) !== 73 || s.charCodeAt(i + 1) !== 78) return undefined // "IN"
  i = skipSpace(s, i + 2, end)
  i = skipSpace(s, tokenEnd(s, i, end), end) // address type
  let j = tokenEnd(s, i, end)
  const slash = s.indexOf('/', i)
  if (slash >= 0 && slash < j) j = slash
  if (j <= i) return undefined
  const ip = normalIp(s.slice(i, j))
  return ip === '0.0.0.0' || ip === '::' ? undefined : ip
}

/** The RTCP endpoints of one SDP. */
export function sdpEndpoints(sdp: string): MediaEndpoint[] {
  const out: MediaEndpoint[] = []
  let sessionIp: string | undefined
  let inMedia = false
  let rtp = false
  let port = 0
  let mediaIp: string | undefined
  let rtcpPort: number | undefined
  let rtcpIp: string | undefined
  let mux = false
  const close = () => {
    if (!inMedia || !rtp || port === 0) return
    const ip = mediaIp ?? sessionIp
    if (ip === undefined && rtcpIp === undefined) return
    const rp = rtcpPort ?? port + 1
    const rip = rtcpIp ?? ip
    if (rip !== undefined && rp <= 65535) out.push({ ip: rip, port: rp, mux: false })
    if (mux && ip !== undefined && !(rip === ip && rp === port)) out.push({ ip, port, mux: true })
  }
  let pos = 0
  const len = sdp.length
  while (pos < len) {
    let nl = sdp.indexOf('\n', pos)
    if (nl < 0) nl = len
    let end = nl
    if (end > pos && sdp.charCodeAt(end - 1) === CR) end--
    const c0 = sdp.charCodeAt(pos)
    if (sdp.charCodeAt(pos + 1) === 61 /* = */) {
      if (c0 === 109 /* m */) {
        close()
        inMedia = true
        // m=<media> <port>[/<number of ports>] <proto> <fmt> ...
        let i = skipSpace(sdp, tokenEnd(sdp, skipSpace(sdp, pos + 2, end), end), end)
        const pe = tokenEnd(sdp, i, end)
        const slash = sdp.indexOf('/', i)
        port = port_(sdp, i, slash >= 0 && slash < pe ? slash : pe)
        if (port < 0 || port > 65534) port = 0
        i = skipSpace(sdp, pe, end)
        const proto = sdp.slice(i, tokenEnd(sdp, i, end))
        rtp = proto.includes('RTP/') || proto.toUpperCase().includes('RTP/')
        mediaIp = rtcpIp = rtcpPort = undefined
        mux = false
      } else if (c0 === 99 /* c */) {
        const ip = connectionIp(sdp, pos + 2, end)
        if (inMedia) mediaIp = ip
        else sessionIp = ip
      } else if (c0 === 97 /* a */ && inMedia && sdp.startsWith('rtcp', pos + 2)) {
        const c6 = sdp.charCodeAt(pos + 6)
        if (c6 === 45 /* - */ && end === pos + 10 && sdp.startsWith('-mux', pos + 6)) mux = true
        else if (c6 === 58 /* : */) {
          // a=rtcp:<port> [IN IP4 <address>]
          const i = skipSpace(sdp, pos + 7, end)
          const pe = tokenEnd(sdp, i, end)
          const n = port_(sdp, i, pe)
          if (n > 0 && n <= 65535) {
            rtcpPort = n
            if (skipSpace(sdp, pe, end) < end) rtcpIp = connectionIp(sdp, pe, end)
          }
        }
      }
    }
    pos = nl + 1
  }
  close()
  return out
}

/**
 * The value of the Content-Type header (or its compact form "c") in the header text [0, end). The
 * usual spelling is found by one search; any other (case, compact form, LF line ends) by a pass
 * over the lines.
 */
export function contentTypeOf(t: string, end: number): string | undefined {
  const at = t.indexOf('\r\nContent-Type:')
  if (at >= 0 && at < end) {
    const v = at + 15
    const e = t.indexOf('\n', v)
    return t.slice(v, e < 0 || e > end ? end : e).trim()
  }
  let pos = 0
  while (pos < end) {
    if ((t.charCodeAt(pos) | 0x20) === 0x63 /* c */) {
      const colon = t.indexOf(':', pos)
      const nl = t.indexOf('\n', pos)
      if (colon > pos && (nl < 0 || colon < nl)) {
        const name = t.slice(pos, colon).trimEnd().toLowerCase()
        if (name === 'c' || name === 'content-type')
          return t.slice(colon + 1, nl < 0 || nl > end ? end : nl).trim()
      }
    }
    const nl = t.indexOf('\n', pos)
    if (nl < 0 || nl >= end) break
    pos = nl + 1
  }
  return undefined
}

function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType)
  return m === null ? undefined : (m[1] ?? m[2])
}

const SDP_TYPE = /^application\/sdp\s*(;|$)/i
const MULTIPART_TYPE = /^multipart\//i

/** The SDP bodies of a body of this content type (multipart parts too, two levels deep). */
function sdpOfBody(body: string, contentType: string | undefined, depth: number, out: string[]): void {
  if (contentType === undefined ? body.startsWith('v=0') : SDP_TYPE.test(contentType)) {
    out.push(body)
    return
  }
  if (contentType === undefined || !MULTIPART_TYPE.test(contentType) || depth > 1) return
  const boundary = boundaryOf(contentType)
  if (boundary === undefined) return
  const delim = '--' + boundary
  let at = body.indexOf(delim)
  while (at >= 0) {
    let start = at + delim.length
    if (body.startsWith('--', start)) return // the closing delimiter
    const next = body.indexOf(delim, start)
    // the part: after the delimiter line, up to the CRLF before the next delimiter
    start = body.indexOf('\n', start)
    if (start < 0) return
    start++
    let stop = next < 0 ? body.length : next
    if (stop > start && body.charCodeAt(stop - 1) === LF) stop--
    if (stop > start && body.charCodeAt(stop - 1) === CR) stop--
    const part = body.slice(start, Math.max(start, stop))
    // part headers end at the first empty line (a part may have none: its body starts at once)
    let hEnd = 0
    let bStart = 0
    if (part.startsWith('\n') || part.startsWith('\r\n')) bStart = hEnd = part.startsWith('\n') ? 1 : 2
    else {
      const e = part.indexOf('\r\n\r\n')
      const e2 = part.indexOf('\n\n')
      if (e >= 0 && (e2 < 0 || e <= e2)) {
        hEnd = e + 2
        bStart = e + 4
      } else if (e2 >= 0) {
        hEnd = e2 + 1
        bStart = e2 + 2
      }
    }
    // a part without a Content-Type is taken as SDP when it starts like one
    const pType = bStart === 0 ? undefined : contentTypeOf(part, hEnd)
    sdpOfBody(part.slice(bStart), pType, depth + 1, out)
    at = next
  }
}

/**
 * The SDP bodies of a SIP message (as latin1 text: one character per byte) whose headers end at
 * `headerLength` (scanSip's), `contentLength` bytes of body when it says so. Empty without one.
 */
export function sdpBodiesOfText(text: string, headerLength: number, contentLength?: number): string[] {
  if (headerLength <= 0 || headerLength >= text.length) return []
  const end = contentLength === undefined ? text.length : Math.min(text.length, headerLength + contentLength)
  const out: string[] = []
  sdpOfBody(text.slice(headerLength, end), contentTypeOf(text, headerLength), 0, out)
  return out
}

/** sdpBodiesOfText of a message's bytes. */
export function sdpBodies(payload: Buffer, headerLength: number, contentLength?: number): string[] {
  return sdpBodiesOfText(payload.toString('latin1'), headerLength, contentLength)
}

/** Every RTCP endpoint the SDP of this SIP message (latin1 text) names (see sdpBodiesOfText). */
export function textEndpoints(text: string, headerLength: number, contentLength?: number): MediaEndpoint[] {
  const bodies = sdpBodiesOfText(text, headerLength, contentLength)
  if (bodies.length === 0) return []
  if (bodies.length === 1) return sdpEndpoints(bodies[0])
  return bodies.flatMap(sdpEndpoints)
}

/** Every RTCP endpoint the SDP of this SIP message names. */
export function messageEndpoints(
  payload: Buffer,
  headerLength: number,
  contentLength?: number,
): MediaEndpoint[] {
  return textEndpoints(payload.toString('latin1'), headerLength, contentLength)
}
