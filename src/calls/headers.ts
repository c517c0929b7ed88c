/**
 * The few SIP headers a call summary needs beyond what sip/scan.ts reads: From and To (as user@host)
 * and the To tag, which tells an out-of-dialog request (no tag: a call's initial request, or the
 * same request sent again with credentials after a 401/407) from one inside a dialog. Compact forms
 * (f:, t:) and any case are accepted; the first occurrence wins; the scan stops at the blank line.
 */

export interface Parties {
  /** user@host of the From URI (host alone when the URI has no user) */
  from?: string
  to?: string
  /** the To header's tag parameter, when it has one */
  toTag?: string
}

const LF = 10
const CR = 13
const COLON = 58

/** From, To and the To tag of a SIP message's header section. */
export function scanParties(buf: Buffer, headerEnd = buf.length): Parties {
  const out: Parties = {}
  let pos = buf.indexOf(LF) + 1 // after the start line
  if (pos <= 0) return out
  const end = headerEnd > 0 ? Math.min(headerEnd, buf.length) : buf.length
  let fromSeen = false
  let toSeen = false
  while (pos < end && !(fromSeen && toSeen)) {
    let nl = buf.indexOf(LF, pos)
    if (nl < 0 || nl > end) nl = end
    let lineEnd = nl
    if (lineEnd > pos && buf[lineEnd - 1] === CR) lineEnd--
    if (lineEnd === pos) break // the blank line
    const c = buf[pos] | 0x20
    if (c === 0x66 || c === 0x74) {
      const colon = buf.indexOf(COLON, pos)
      if (colon > pos && colon < lineEnd) {
        const name = buf.toString('latin1', pos, colon).trim().toLowerCase()
        const isFrom = name === 'from' || name === 'f'
        const isTo = name === 'to' || name === 't'
        if ((isFrom && !fromSeen) || (isTo && !toSeen)) {
          const value = buf.toString('utf8', colon + 1, lineEnd).trim()
          const { who, params } = nameAddr(value)
          if (isFrom) {
            fromSeen = true
            out.from = who
          } else {
            toSeen = true
            out.to = who
            const tag = /(?:^|;)\s*tag\s*=\s*([^;\s]+)/i.exec(params)
            if (tag) out.toTag = tag[1]
          }
        }
      }
    }
    pos = nl + 1
  }
  return out
}

/**
 * A From/To value (name-addr or addr-spec, RFC 3261 section 20.20) as user@host and its header
 * parameters: `"Alice" <sip:alice@10.0.0.1:5070;transport=udp>;tag=1` → alice@10.0.0.1, ";tag=1".
 */
export function nameAddr(value: string): { who: string | undefined; params: string } {
  let uri: string
  let params: string
  const lt = value.indexOf('<')
  if (lt >= 0) {
    const gt = value.indexOf('>', lt)
    uri = value.slice(lt + 1, gt < 0 ? undefined : gt)
    params = gt < 0 ? '' : value.slice(gt + 1)
  } else {
    // addr-spec: parameters after the URI belong to the header
    const semi = value.indexOf(';')
    uri = semi < 0 ? value : value.slice(0, semi)
    params = semi < 0 ? '' : value.slice(semi)
  }
  return { who: userAtHost(uri.trim()), params }
}

/** sip:alice@10.0.0.1:5070;transport=udp → alice@10.0.0.1; tel:+4930123 → +4930123. */
export function userAtHost(uri: string): string | undefined {
  if (uri === '') return undefined
  let rest = uri
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(rest)
  if (scheme) rest = rest.slice(scheme[0].length)
  if (scheme && scheme[1].toLowerCase() === 'tel') return rest.split(/[;?]/)[0] || undefined
  const at = rest.lastIndexOf('@')
  const user = at >= 0 ? rest.slice(0, at).split(':')[0] : undefined // user:password@host
  let host = at >= 0 ? rest.slice(at + 1) : rest
  host = host.split(/[;?]/)[0]
  if (host.startsWith('[')) {
    const close = host.indexOf(']')
    host = close >= 0 ? host.slice(0, close + 1) : host
  } else {
    const colon = host.indexOf(':')
    if (colon >= 0) host = host.slice(0, colon)
  }
  if (host === '' && user === undefined) return undefined
  return user === undefined || user === '' ? host : `${user}@${host}`
}
