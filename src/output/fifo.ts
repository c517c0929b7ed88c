/**
 * A FIFO named as an output (`mkfifo p; hep convert in.pcap p &; wireshark -k -i p`), written the way
 * a pipe on stdout is: opened without blocking (tried again every 50 ms until a reader comes) and
 * written through epoll, never by an open or a write parked on libuv's thread pool. Those cannot be
 * stopped: Ctrl-C with no reader yet printed "could not stop in time" and the process stayed until
 * a reader came (libuv joins its thread pool at exit).
 */
import { closeSync, constants, openSync, statSync } from 'node:fs'
import { Socket } from 'node:net'
import { Writable } from 'node:stream'

/** how often the open is tried again while the FIFO has no reader */
const RETRY_MS = 50

/** A stream writing the FIFO at `path`; undefined when `path` is no FIFO. */
export function fifoWriteStream(path: string, highWaterMark: number): Writable | undefined {
  try {
    if (!statSync(path).isFIFO()) return undefined
  } catch {
    return undefined
  }
  return new FifoWriter(path, highWaterMark)
}

class FifoWriter extends Writable {
  private sock: Socket | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly path: string,
    highWaterMark: number,
  ) {
    super({ highWaterMark })
  }

  override _construct(cb: (e?: Error | null) => void): void {
    const attempt = (): void => {
      this.timer = undefined
      let fd: number
      try {
        // O_NONBLOCK: ENXIO while nobody reads (a blocking open would wait on a thread-pool thread)
        fd = openSync(this.path, constants.O_WRONLY | constants.O_NONBLOCK)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENXIO' && !this.destroyed) {
          this.timer = setTimeout(attempt, RETRY_MS)
          return
        }
        return cb(e as Error)
      }
      try {
        const sock = new Socket({ fd, readable: false, writable: true })
        sock.on('error', (e) => this.destroy(e))
        this.sock = sock
      } catch (e) {
        closeSync(fd)
        return cb(e as Error)
      }
      cb()
    }
    attempt()
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    ;(this.sock as Socket).write(chunk, cb)
  }

  override _final(cb: (e?: Error | null) => void): void {
    ;(this.sock as Socket).end(() => cb())
  }

  override _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    if (this.timer) clearTimeout(this.timer)
    this.sock?.destroy()
    cb(e)
  }
}
