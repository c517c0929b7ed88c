/**
 * The link of ws:// and wss:// destinations: one binary WebSocket message per packet, no compression;
 * a ping is the probe (its pong says the peer read everything before it). A close the peer started,
 * or a close code other than normal, is an error.
 */
import { createRequire } from 'node:module'
import type { WebSocket as WebSocketType } from 'ws'
import type { Destination } from '../address.js'
import { NetError } from '../errors.js'
import type { SenderOptions } from '../sender-types.js'
import { peerClosed, type LinkFactory } from './link.js'
import { tlsOptions } from './tls.js'

/** ws (~35 ms to load) only when a WebSocket destination is used */
const load = createRequire(import.meta.url)

/** the reason of our WebSocket close frame */
const CLOSE_REASON = 'done'

export function wsLinkFactory(d: Destination, o: SenderOptions): LinkFactory {
  const secure = d.transport === 'wss' ? tlsOptions(d, o) : {}
  const { WebSocket } = load('ws') as { WebSocket: typeof WebSocketType }
  return (h) => {
    const ws = new WebSocket(d.url, {
      ...secure,
      handshakeTimeout: o.connectTimeout ?? 5000,
      perMessageDeflate: false,
    })
    let error: Error | undefined
    let ended = false
    let peerFirst = false
    const pongs: Array<() => void> = []
    ws.on('open', () => h.open({}))
    ws.on('error', (e) => (error ??= e))
    ws.on('pong', () => pongs.shift()?.())
    ws.on('close', (code, reason) => {
      if (error === undefined && code !== 1000 && code !== 1005) {
        const text = reason.length > 0 ? ` ${reason.toString('utf8')}` : ''
        error = new NetError(`${d.url} closed the WebSocket with code ${code}${text}`, {
          reason: `WS_CLOSE_${code}`,
          target: d.url,
        })
      }
      // a close the peer started (before ours, or with a reason of its own rather than the echo of
      // ours, which ws sends back and others leave empty): maybe before what we sent reached it
      const own = reason.length > 0 && reason.toString('utf8') !== CLOSE_REASON
      if (error === undefined && (!ended || peerFirst || own)) error = peerClosed(d.url)
      h.close(error)
    })
    return {
      write: (buf, cb) => ws.send(buf, { binary: true }, cb),
      end: () => {
        ended = true
        if (ws.readyState !== WebSocket.OPEN) peerFirst = true
        ws.close(1000, CLOSE_REASON)
      },
      probe: (cb) => {
        pongs.push(cb)
        try {
          ws.ping()
        } catch {
          pongs.pop() // not open: the close that follows settles the window
        }
      },
      destroy: (e) => {
        error ??= e
        ws.terminate()
      },
    }
  }
}
