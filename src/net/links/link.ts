/**
 * A connection as a stream sender (src/net/stream-sender.ts) sees it, whatever the transport: the
 * link a factory opens (tcp.ts for TCP and TLS, ws.ts for WebSocket), the events it reports, and the
 * message of a link that failed.
 */
import { describeError, errorCode, NetError } from '../errors.js'
import type { Endpoint } from '../types.js'

/** A connection as the sender sees it, whatever the transport. */
export interface Link {
  write(buf: Buffer, cb: (err?: Error | null) => void): void
  /** graceful close (FIN, WebSocket close handshake) */
  end(): void
  /** immediate close; `err` becomes the reason reported */
  destroy(err?: Error): void
  /**
   * WebSocket: a ping after everything written so far; `cb` when the peer's pong comes (the peer's
   * WebSocket has read everything before it)
   */
  probe?(cb: () => void): void
}

export interface LinkHandlers {
  open(info: { local?: Endpoint; remote?: Endpoint }): void
  /**
   * exactly once, with the error that ended the link, if any; `peerRead`: the peer closed first, and
   * cleanly (its FIN, no reset for what we wrote after it): it read everything written
   */
  close(err?: Error, peerRead?: boolean): void
  /** the peer closed its side first: write no more (what was written is being checked) */
  peerEnded?(): void
}

export type LinkFactory = (h: LinkHandlers) => Link

const TLS_HINT =
  'give the server certificate or its CA (ca) to verify it, or turn verification off ' +
  '(rejectUnauthorized: false) for a self-signed test server'

/** A clear message for a failed link. */
export function linkError(e: Error | undefined, dest: string, wasConnected: boolean): NetError {
  if (e instanceof NetError) return e
  if (e === undefined) {
    return wasConnected
      ? new NetError(`${dest} closed the connection`, { reason: 'PEER_CLOSED', target: dest })
      : new NetError(`cannot connect to ${dest}: the connection closed during the handshake`, {
          target: dest,
        })
  }
  const code = errorCode(e)
  let detail = describeError(e)
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    detail = `TLS certificate not accepted: ${e.message} (${code}); connect with a name the certificate lists, or set servername`
  } else if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    detail = `TLS certificate not accepted: ${e.message} (${code}); ${TLS_HINT}`
  }
  return new NetError(
    `${wasConnected ? `connection to ${dest} lost` : `cannot connect to ${dest}`}: ${detail}`,
    {
      reason: code,
      target: dest,
      cause: e,
    },
  )
}

/** the error of a link the peer closed first */
export function peerClosed(dest: string): NetError {
  return new NetError(`${dest} closed the connection`, { reason: 'PEER_CLOSED', target: dest })
}
