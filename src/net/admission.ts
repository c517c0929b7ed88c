/**
 * Fair admission, shared by the stream listeners (TCP/TLS and WebSocket): the connections of one
 * listener in eviction order, and the pause of accepting when file descriptors run out.
 *
 * At maxConnections the oldest connection that has not delivered a packet (`silent`), or else the one
 * whose last packet is the oldest (`open` is kept in that order), is evicted to admit the new one.
 */
import type { Server } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Conn } from './conn.js'
import type { Endpoint } from './types.js'

/** ms accepting stops when file descriptors ran out and no connection could be evicted */
export const ACCEPT_PAUSE_MS = 250

/** The first connection of `m` not closing already. */
export function firstOpen<C extends Conn>(m: Map<number, C>): C | undefined {
  for (const c of m.values()) if (c.reason === undefined) return c
  return undefined
}

export class ConnectionTable<C extends Conn> {
  /** open connections, the one that has gone longest without a packet first */
  readonly open = new Map<number, C>()
  /** open connections that have not delivered a packet yet, the oldest first: evicted before the others */
  private readonly silent = new Map<number, C>()
  /** evicted, not closed yet */
  private readonly leaving = new Set<C>()

  get size(): number {
    return this.open.size
  }

  /** nothing open, nothing still leaving */
  get empty(): boolean {
    return this.open.size === 0 && this.leaving.size === 0
  }

  /** Admits `c`, evicting one first when `max` (> 0) connections are open. */
  admit(c: C, max: number): void {
    if (max > 0 && this.open.size >= max) this.evict(max)
    this.open.set(c.id, c)
    this.silent.set(c.id, c)
  }

  /** `c` delivered a packet: to the end of the eviction order. */
  delivered(c: C): void {
    this.silent.delete(c.id)
    this.open.delete(c.id)
    this.open.set(c.id, c)
  }

  /** `c` is closed. */
  remove(c: C): void {
    this.open.delete(c.id)
    this.silent.delete(c.id)
    this.leaving.delete(c)
  }

  /** Closes the oldest connection without a packet, or else the one whose last packet is the oldest. */
  evict(max: number): void {
    const c = firstOpen(this.silent) ?? firstOpen(this.open)
    if (c === undefined) return
    this.open.delete(c.id)
    this.silent.delete(c.id)
    this.leaving.add(c)
    const idle = ((performance.now() - c.lastPacketAt) / 1000).toFixed(1)
    const what = c.packets === 0 ? `no packet since it connected ${idle} s ago` : `no packet for ${idle} s`
    c.kill('evicted', `the listener had ${max} connections; this one had the oldest: ${what}`)
  }
}

/**
 * Out of file descriptors with nothing to evict: stops listening for ACCEPT_PAUSE_MS (connecting peers
 * are refused meanwhile, and retry), then listens again on the same address, until it can.
 */
export class AcceptPause {
  private timer: NodeJS.Timeout | undefined

  get active(): boolean {
    return this.timer !== undefined
  }

  start(server: Server, at: () => Endpoint, closing: () => boolean): void {
    if (this.timer !== undefined || closing()) return
    server.close()
    const relisten = (): void => {
      this.timer = undefined
      if (closing()) return
      const retry = (): void => {
        server.off('listening', ok)
        this.timer ??= setTimeout(relisten, ACCEPT_PAUSE_MS)
      }
      const ok = (): void => {
        server.off('error', retry)
      }
      server.once('error', retry)
      server.once('listening', ok)
      const bound = at()
      server.listen({ host: bound.address, port: bound.port, exclusive: true })
    }
    this.timer = setTimeout(relisten, ACCEPT_PAUSE_MS)
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}
