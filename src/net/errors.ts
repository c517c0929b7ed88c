/**
 * NetError: a HepError('NET') that keeps the operating system's error code (ECONNREFUSED...) or our own
 * (CONNECT_TIMEOUT, WRITE_TIMEOUT, DATAGRAM_TOO_LARGE...), the destination or listener it concerns, and
 * the original error as `cause`. Messages say what failed, where, and what to do.
 */
import { HepError } from '../errors.js'

export interface NetErrorOptions {
  /** OS error code ('ECONNREFUSED', 'EMSGSIZE'...) or one of ours ('CONNECT_TIMEOUT', 'WRITE_TIMEOUT'...) */
  reason?: string
  /** the destination URL or listen address concerned */
  target?: string
  cause?: unknown
}

export class NetError extends HepError {
  readonly reason: string | undefined
  readonly target: string | undefined
  constructor(message: string, options: NetErrorOptions = {}) {
    super('NET', message)
    this.name = 'NetError'
    this.reason = options.reason
    this.target = options.target
    if (options.cause !== undefined) this.cause = options.cause
  }
}

const PHRASES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens there?)',
  ECONNRESET: 'connection reset by peer',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'broken pipe (the peer closed the connection)',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EAFNOSUPPORT: 'address family not supported',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'temporary DNS failure',
  EMSGSIZE: 'message too long for a datagram',
  ENOENT: 'no such file',
}

/** The `code` of a Node system error, if any. */
export function errorCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | undefined)?.code
  return typeof c === 'string' ? c : undefined
}

/**
 * "connection refused (nothing listens there?) (ECONNREFUSED)", an OpenSSL error's reason
 * ("wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)"), or the error's own message.
 */
export function describeError(e: unknown): string {
  const code = errorCode(e)
  if (code !== undefined && PHRASES[code] !== undefined) return `${PHRASES[code]} (${code})`
  const sslReason = (e as { reason?: unknown } | undefined)?.reason
  if (code?.startsWith('ERR_SSL_') && typeof sslReason === 'string') return `${sslReason} (${code})`
  if (e instanceof Error) return e.message
  return String(e)
}

/** Wraps any error as a NetError whose message starts with `what` ("connect to tcp://h:9060"). */
export function toNetError(e: unknown, what: string, target?: string): NetError {
  if (e instanceof NetError) return e
  return new NetError(`${what}: ${describeError(e)}`, { reason: errorCode(e), target, cause: e })
}
