/**
 * Where a call's RTCP goes, from the SDP of its SIP messages (RFC 4566, 3605, 5761): every RTP media
 * stream (m= with an RTP profile and a port other than 0) sends RTCP to the address of its c= line
 * (media level, else session level) on its port + 1, or to the port and address of `a=rtcp:`; with
 * `a=rtcp-mux`, RTCP may also share the RTP port. The SDP is found in the SIP body by its
 * Content-Type (application/sdp, also as a part of a multipart body) or, without one, by "v=0".
 *
 * The scan reads only the lines it needs (c=, m=, a=rtcp) with indexOf, in place. sdp-transform reads
 * every line with its grammar and took 6.5-14 µs per SDP here (convert of a SIP capture does about
 * 2 µs per message), so it is the oracle the tests check this scan against, not the scan itself.
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
  const b = parseIPv4(text)
  return b === undefined ? undefined : `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
}

/** "IN IP4 10.0.0.1/127" -> "10.0.0.1"; undefined for an unspecified (0.0.0.0, ::) or non-IP address. */
function connectionIp(value: string): string | undefined {
  const parts = value.trim().split(/\s+/)
  if (parts.length < 3 || parts[0] !== 'IN') return undefined
  const ip = normalIp(parts[2].split('/')[0])
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
        const f = sdp
          .slice(pos + 2, end)
          .trim()
          .split(/\s+/)
        port = /^\d{1,5}(\/\d+)?$/.test(f[1] ?? '') ? parseInt(f[1], 10) : 0
        if (port > 65534) port = 0
        rtp = (f[2] ?? '').toUpperCase().includes('RTP/')
        mediaIp = rtcpIp = rtcpPort = undefined
        mux = false
      } else if (c0 === 99 /* c */) {
        const ip = connectionIp(sdp.slice(pos + 2, end))
        if (inMedia) mediaIp = ip
        else sessionIp = ip
      } else if (c0 === 97 /* a */ && inMedia && sdp.startsWith('rtcp', pos + 2)) {
        const a = sdp.slice(pos + 6, end)
        if (a === '-mux') mux = true
        else if (a.charCodeAt(0) === 58 /* : */) {
          // a=rtcp:<port> [IN IP4 <address>]
          const m = /^:(\d{1,5})(?:\s+(.*))?$/.exec(a.trim())
          if (m !== null) {
            const n = parseInt(m[1], 10)
            if (n > 0 && n <= 65535) rtcpPort = n
            if (m[2] !== undefined) rtcpIp = connectionIp(m[2])
          }
        }
      }
    }
    pos = nl + 1
  }
  close()
  return out
}

/** The value of header `long` (or its compact form `short`) in the header bytes [0, end). */
function header(b: Buffer, end: number, long: string, short: string): string | undefined {
  let pos = 0
  while (pos < end) {
    let nl = b.indexOf(LF, pos)
    if (nl < 0 || nl > end) nl = end
    const colon = b.indexOf(58, pos)
    if (colon > pos && colon < nl) {
      const name = b.toString('latin1', pos, colon).trim().toLowerCase()
      if (name === long || name === short) return b.toString('latin1', colon + 1, nl).trim()
    }
    pos = nl + 1
  }
  return undefined
}

function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType)
  return m === null ? undefined : (m[1] ?? m[2])
}

/** The SDP bodies of a body of this content type (multipart parts too, two levels deep). */
function sdpOfBody(body: Buffer, contentType: string | undefined, depth: number, out: string[]): void {
  const type = contentType?.split(';')[0].trim().toLowerCase()
  if (
    type === 'application/sdp' ||
    (type === undefined && body.subarray(0, 3).toString('latin1') === 'v=0')
  ) {
    out.push(body.toString('utf8'))
    return
  }
  if (type === undefined || !type.startsWith('multipart/') || depth > 1) return
  const boundary = boundaryOf(contentType as string)
  if (boundary === undefined) return
  const delim = Buffer.from('--' + boundary)
  let at = body.indexOf(delim)
  while (at >= 0) {
    let start = at + delim.length
    if (body[start] === 45 && body[start + 1] === 45) return // the closing delimiter
    const next = body.indexOf(delim, start)
    // the part: after the delimiter line, up to the CRLF before the next delimiter
    start = body.indexOf(LF, start)
    if (start < 0) return
    start++
    let stop = next < 0 ? body.length : next
    if (stop > start && body[stop - 1] === LF) stop--
    if (stop > start && body[stop - 1] === CR) stop--
    const part = body.subarray(start, Math.max(start, stop))
    // part headers end at the first empty line (a part may have none: its body starts at once)
    let hEnd = 0
    let bStart = 0
    if (part[0] === LF || (part[0] === CR && part[1] === LF)) bStart = hEnd = part[0] === LF ? 1 : 2
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
    const pType = bStart === 0 ? undefined : header(part, hEnd, 'content-type', 'c')
    // a part without a Content-Type is taken as SDP when it starts like one
    sdpOfBody(part.subarray(bStart), pType, depth + 1, out)
    at = next
  }
}

/**
 * The SDP bodies of a SIP message whose headers end at `headerLength` (scanSip's), `contentLength`
 * bytes of body when it says so. Empty when the message has none.
 */
export function sdpBodies(payload: Buffer, headerLength: number, contentLength?: number): string[] {
  if (headerLength <= 0 || headerLength >= payload.length) return []
  const end =
    contentLength === undefined ? payload.length : Math.min(payload.length, headerLength + contentLength)
  const out: string[] = []
  sdpOfBody(payload.subarray(headerLength, end), header(payload, headerLength, 'content-type', 'c'), 0, out)
  return out
}

/** Every RTCP endpoint the SDP of this SIP message names (see sdpBodies). */
export function messageEndpoints(
  payload: Buffer,
  headerLength: number,
  contentLength?: number,
): MediaEndpoint[] {
  const bodies = sdpBodies(payload, headerLength, contentLength)
  if (bodies.length === 0) return []
  if (bodies.length === 1) return sdpEndpoints(bodies[0])
  return bodies.flatMap(sdpEndpoints)
}
