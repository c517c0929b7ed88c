/**
 * Destination and listen address syntax (docs/CLI.md):
 * - destinations: `HOST:PORT` (UDP), `udp://`, `tcp://`, `tls://`, `ws://`, `wss://` URLs, IPv6 in
 *   brackets (`[::1]:9060`), default port 9060, ws(s) path default `/`;
 * - listen addresses: `[HOST:]PORT`, default host 0.0.0.0 (`[::]:9060` listens on IPv6 and IPv4).
 */
import { lookup } from 'node:dns/promises'
import { isIP, isIPv4, isIPv6 } from 'node:net'
import { HepError } from '../errors.js'

export const DEFAULT_PORT = 9060

export type DestinationTransport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss'
export const DESTINATION_TRANSPORTS: readonly DestinationTransport[] = ['udp', 'tcp', 'tls', 'ws', 'wss']

export interface Destination {
  transport: DestinationTransport
  /** host name or IP address, IPv6 without brackets */
  host: string
  port: number
  /** request path of ws:// and wss:// (with query string), '/' by default; '' for the others */
  path: string
  /** canonical form: `tcp://[::1]:9060`, `ws://host:9060/path` */
  url: string
}

export interface ListenAddress {
  /** IP address or host name, IPv6 without brackets */
  host: string
  /** 0 lets the operating system choose */
  port: number
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
}

export function formatDestination(d: Omit<Destination, 'url'>): string {
  const path = d.transport === 'ws' || d.transport === 'wss' ? d.path || '/' : ''
  return `${d.transport}://${formatHostPort(d.host, d.port)}${path}`
}

function fail(kind: string, text: string, detail: string): never {
  throw new HepError('NET', `${kind} "${text}": ${detail}`)
}

function parsePort(s: string, kind: string, text: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(s)) fail(kind, text, `port "${s}" is not a number from ${allowZero ? 0 : 1} to 65535`)
  const port = Number(s)
  if (port > 65535 || (port === 0 && !allowZero)) {
    fail(kind, text, `port ${port} is out of range (${allowZero ? 0 : 1}..65535)`)
  }
  return port
}

const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/

function checkHost(host: string, kind: string, text: string): string {
  if (host === '') fail(kind, text, 'the host is empty')
  // digits and dots are an IPv4 address or nothing: the resolver would take "9060" as 0.0.35.100
  if (/^[\d.]+$/.test(host) && !isIPv4(host)) fail(kind, text, `"${host}" is not an IPv4 address`)
  if (isIP(host) === 0 && !HOSTNAME.test(host)) fail(kind, text, `"${host}" is not a host name or IP address`)
  return host
}

/** Splits `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address. */
function hostPort(
  s: string,
  kind: string,
  text: string,
  allowZero: boolean,
): { host: string; port: number | undefined } {
  if (s.startsWith('[')) {
    const close = s.indexOf(']')
    if (close < 0) fail(kind, text, 'missing "]" after the IPv6 address')
    const host = s.slice(1, close)
    if (!isIPv6(host)) fail(kind, text, `"${host}" in brackets is not an IPv6 address`)
    const rest = s.slice(close + 1)
    if (rest === '') return { host, port: undefined }
    if (rest[0] !== ':') fail(kind, text, `unexpected "${rest}" after "]" (expected ":PORT")`)
    return { host, port: parsePort(rest.slice(1), kind, text, allowZero) }
  }
  const colons = s.split(':').length - 1
  if (colons === 0) return { host: checkHost(s, kind, text), port: undefined }
  if (colons === 1) {
    const i = s.indexOf(':')
    return {
      host: checkHost(s.slice(0, i), kind, text),
      port: parsePort(s.slice(i + 1), kind, text, allowZero),
    }
  }
  // several colons: a bare IPv6 address (no port), unless it is ambiguous ("::1:9060")
  if (!isIPv6(s)) fail(kind, text, 'not a host:port; write IPv6 addresses in brackets, e.g. [::1]:9060')
  const last = s.lastIndexOf(':')
  const head = s.slice(0, last)
  const tail = s.slice(last + 1)
  if (/^\d+$/.test(tail) && isIPv6(head)) {
    fail(
      kind,
      text,
      `ambiguous IPv6 address: write [${head}]:${tail} for port ${tail}, or [${s}] for that address`,
    )
  }
  return { host: s, port: undefined }
}

/**
 * Parses a destination: `HOST:PORT` (UDP) or `udp|tcp|tls|ws|wss://HOST[:PORT][/path]`.
 * Throws HepError('NET') naming the text.
 */
export function parseDestination(text: string): Destination {
  const kind = 'destination'
  const t = text.trim()
  if (t === '') fail(kind, text, 'empty; expected HOST:PORT or a URL such as tcp://HOST:9060')
  let transport: DestinationTransport = 'udp'
  let rest = t
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(t)
  if (m) {
    const scheme = m[1].toLowerCase()
    if (!(DESTINATION_TRANSPORTS as readonly string[]).includes(scheme)) {
      fail(kind, text, `unknown scheme "${m[1]}://"; use udp://, tcp://, tls://, ws:// or wss://`)
    }
    transport = scheme as DestinationTransport
    rest = m[2]
  }
  const cut = rest.search(/[/?#]/)
  const authority = cut < 0 ? rest : rest.slice(0, cut)
  let path = cut < 0 ? '' : rest.slice(cut)
  if (authority.includes('@')) fail(kind, text, 'user names in destinations are not supported')
  if (authority === '') fail(kind, text, 'the host is missing')
  // a port without a host ("9060", ":9060"): say what was probably meant
  const bare = /^:?(\d+)$/.exec(authority)
  if (bare) {
    parsePort(bare[1], kind, text, false)
    const scheme = m ? `${transport}://` : ''
    fail(
      kind,
      text,
      `${bare[0].startsWith(':') ? 'the host is empty' : 'no host, only a port'}; did you mean ${scheme}127.0.0.1:${bare[1]}?`,
    )
  }
  const hp = hostPort(authority, kind, text, false)
  const ws = transport === 'ws' || transport === 'wss'
  if (ws) {
    if (path.startsWith('#')) path = ''
    path = path.replace(/#.*$/, '')
    if (path === '' || path.startsWith('?')) path = `/${path}`
  } else {
    if (path !== '' && path !== '/') {
      fail(kind, text, `a ${transport} destination has no path ("${path}"); only ws:// and wss:// take one`)
    }
    path = ''
  }
  const d = { transport, host: hp.host, port: hp.port ?? DEFAULT_PORT, path }
  return { ...d, url: formatDestination(d) }
}

/**
 * Parses a listen address `[HOST:]PORT`: `9060`, `127.0.0.1:9060`, `[::]:9060`, `[::1]`, `::1`, `localhost`.
 * A number is a port. Missing host: `defaultHost` (0.0.0.0); missing port: 9060; port 0: any free port.
 */
export function parseListenAddress(text: string | number, defaultHost = '0.0.0.0'): ListenAddress {
  const kind = 'listen address'
  if (typeof text === 'number') {
    if (!Number.isInteger(text) || text < 0 || text > 65535)
      fail(kind, String(text), 'not a port from 0 to 65535')
    return { host: defaultHost, port: text }
  }
  const t = text.trim()
  if (t === '') fail(kind, text, 'empty; expected [HOST:]PORT, e.g. 9060 or 127.0.0.1:9060')
  if (/^\d+$/.test(t)) return { host: defaultHost, port: parsePort(t, kind, text, true) }
  if (t.includes('://'))
    fail(kind, text, 'expected [HOST:]PORT without a scheme (the flag chooses the transport)')
  const hp = hostPort(t, kind, text, true)
  return { host: hp.host, port: hp.port ?? DEFAULT_PORT }
}

/** The address and IP version of `host`, looked up when it is a name (rejects as the lookup does). */
export async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const v = isIP(host)
  if (v !== 0) return { address: host, family: v === 6 ? 6 : 4 }
  const r = await lookup(host)
  return { address: r.address, family: r.family === 6 ? 6 : 4 }
}
