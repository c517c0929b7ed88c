/**
 * The link of tcp:// and tls:// destinations: a socket (TLS over it for tls://), no Nagle delay,
 * optional keepalive. Half-open, so that a peer that closes first can be watched for the reset its
 * kernel sends for bytes it did not read: no reset within a few round trips means it read them all.
 */
import { connect as netConnect } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import type { Destination } from '../address.js'
import { endpoint } from '../conn.js'
import type { SenderOptions } from '../sender-types.js'
import { peerClosed, type LinkFactory } from './link.js'
import { tlsOptions } from './tls.js'

export function tcpLinkFactory(d: Destination, o: SenderOptions): LinkFactory {
  const secure = d.transport === 'tls' ? tlsOptions(d, o) : undefined
  const keepalive = o.keepalive ?? 0
  return (h) => {
    // half-open: when the peer closes first, our side stays open to see the reset its kernel sends
    // for anything we wrote that it did not read
    const s = secure
      ? tlsConnect({ host: d.host, port: d.port, allowHalfOpen: true, ...secure } as ConnectionOptions)
      : netConnect({ host: d.host, port: d.port, noDelay: true, allowHalfOpen: true })
    let error: Error | undefined
    let ended = false
    let peerFin = false
    let peerRead = false
    let watch: NodeJS.Timeout | undefined
    const t0 = Date.now()
    let rtt = 0
    s.once('connect', () => (rtt = Date.now() - t0)) // the TCP handshake: about one round trip
    s.setNoDelay(true)
    if (keepalive > 0) s.setKeepAlive(true, keepalive * 1000)
    s.once(secure ? 'secureConnect' : 'connect', () =>
      h.open({
        local: endpoint(s.localAddress, s.localPort, s.localFamily),
        remote: endpoint(s.remoteAddress, s.remotePort, s.remoteFamily),
      }),
    )
    s.on('error', (e) => (error ??= e))
    s.on('data', () => {}) // a HEP receiver sends nothing; discard and keep reading to see the FIN
    s.on('end', () => {
      if (ended) return // the answer to our FIN
      // the peer's FIN before ours: it closed on its own. Its kernel resets what we wrote that it had
      // not read (or that comes after its close); no reset within a few round trips: it read it all
      peerFin = true
      h.peerEnded?.()
      watch = setTimeout(
        () => {
          if (s.destroyed) return
          peerRead = error === undefined
          error ??= peerClosed(d.url)
          s.destroy()
        },
        Math.min(2000, Math.max(100, 4 * rtt)),
      )
    })
    s.on('close', () => {
      if (watch) clearTimeout(watch)
      h.close(peerRead ? undefined : (error ?? (peerFin ? peerClosed(d.url) : undefined)), peerRead)
    })
    return {
      write: (buf, cb) => {
        s.write(buf, cb)
      },
      end: () => {
        ended = true
        if (!peerFin) s.end() // after the peer's FIN, the check above closes
      },
      destroy: (e) => {
        error ??= e
        s.destroy()
      },
    }
  }
}
