/**
 * What the two connection listeners (TCP/TLS in stream-listener.ts, WebSocket in ws-listener.ts) share:
 * the table of open connections in eviction order, the accept pause when descriptors run out, binding
 * with its error reports, pausing every connection under backpressure, and a close that waits for the
 * connections to finish.
 */
import type { Server } from 'node:net'
import { formatHostPort } from './address.js'
import { AcceptPause, ConnectionTable } from './admission.js'
import { endpoint, type Conn, type Guards, type ListenerHost } from './conn.js'
import { errorCode, toNetError } from './errors.js'
import type { Endpoint, Listener, ListenTransport } from './types.js'

export abstract class ConnListener<C extends Conn, T extends ListenTransport> implements Listener {
  /** open connections in eviction order (admission.ts) */
  protected readonly conns = new ConnectionTable<C>()
  /** accepting paused (out of descriptors) */
  protected readonly acceptPause = new AcceptPause()
  protected bound: Endpoint = endpoint('', 0)
  protected closing: Promise<void> | undefined
  /** set by close(): called as connections finish */
  protected drained: (() => void) | undefined
  /** reading is paused (the output is over its bound): see HepServer.pauseInput */
  protected paused = false
  /** the listening server, once started */
  protected listening: Server | undefined

  constructor(
    protected readonly host: ListenerHost,
    readonly id: number,
    readonly transport: T,
    protected readonly guards: Guards,
  ) {}

  abstract start(address: string, port: number): Promise<void>

  /** Stops (or restarts) reading one connection. */
  protected abstract pauseConn(c: C, paused: boolean): void

  /** What closing does beyond closing the server and killing the connections (timers, pending sockets). */
  protected beforeClose(): void {}

  get local(): Endpoint {
    return this.bound
  }

  get connectionCount(): number {
    return this.conns.size
  }

  getRecvBufferSize(): number | undefined {
    return undefined
  }

  /** Stops (or restarts) reading every connection, new ones included: senders feel the backpressure. */
  setPaused(paused: boolean): void {
    this.paused = paused
    for (const c of this.conns.open.values()) this.pauseConn(c, paused)
  }

  /**
   * Binds `server` (exclusively) and keeps it: a bind error rejects, naming the address; later errors
   * are reported, and running out of descriptors pauses accepting.
   */
  protected async listenOn(server: Server, address: string, port: number): Promise<void> {
    this.listening = server
    const where = `${this.transport} ${formatHostPort(address, port)}`
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(toNetError(e, `cannot listen on ${where}`, where))
      server.once('error', onError)
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off('error', onError)
        resolve()
      })
    })
    const a = server.address()
    if (a !== null && typeof a === 'object') this.bound = endpoint(a.address, a.port, a.family)
    server.on('error', (e) => {
      const code = errorCode(e)
      if (code === 'EMFILE' || code === 'ENFILE') this.pauseAccepting(code)
      else this.host.reportError(toNetError(e, `${this.transport} listener ${where}`))
    })
  }

  /** Out of file descriptors with nothing to evict: accepting pauses (see AcceptPause). */
  protected pauseAccepting(code: string): void {
    const server = this.listening
    if (this.acceptPause.active || this.closing || !server) return
    this.host.acceptPaused(code)
    this.acceptPause.start(
      server,
      () => this.bound,
      () => this.closing !== undefined,
    )
  }

  /** Stops accepting, closes every connection ('shutdown') and resolves once all have finished. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    const server = this.listening
    this.acceptPause.clear()
    this.closing = new Promise<void>((resolve) => {
      if (!server) return resolve()
      let serverClosed = false
      const check = (): void => {
        if (serverClosed && this.conns.empty) resolve()
      }
      this.drained = check
      server.close(() => {
        serverClosed = true
        check()
      })
      this.beforeClose()
      for (const c of [...this.conns.open.values()]) c.kill('shutdown', 'the listener is closing')
    })
    return this.closing
  }
}
