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

/** the FIFO outputs not finished yet */
const unfinished = new Set<FifoWriter>()

/**
 * At a stop (Ctrl-C), once stdout's reader had its chance (commands/_base.ts): every FIFO output not
 * finished fails as not taken by its reader (ESTOPPED: named, exit 5), as stdout drops what its
 * reader did not take, so the summary still comes in time. One with no reader yet stops waiting.
 */
export function abandonFifos(): void {
  for (const w of [...unfinished]) w.abandon()
}

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
  /** the open is still being tried: its callback */
  private opening: ((e?: Error | null) => void) | undefined

  constructor(
    private readonly path: string,
    highWaterMark: number,
  ) {
    super({ highWaterMark })
    unfinished.add(this)
    this.once('close', () => unfinished.delete(this))
    this.once('finish', () => unfinished.delete(this))
  }

  abandon(): void {
    unfinished.delete(this)
    const e = Object.assign(new Error('its reader had not taken everything when the command stopped'), {
      code: 'ESTOPPED',
    })
    const opening = this.opening
    if (opening) {
      // no reader came: the open is no longer tried (destroy() would wait for it)
      if (this.timer) clearTimeout(this.timer)
      this.timer = undefined
      this.opening = undefined
      opening(e)
    } else this.destroy(e)
  }

  override _construct(cb: (e?: Error | null) => void): void {
    this.opening = cb
    const attempt = (): void => {
      this.timer = undefined
      if (this.opening !== cb) return // abandoned
      let fd: number
      try {
        // O_NONBLOCK: ENXIO while nobody reads (a blocking open would wait on a thread-pool thread)
        fd = openSync(this.path, constants.O_WRONLY | constants.O_NONBLOCK)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENXIO' && !this.destroyed) {
          this.timer = setTimeout(attempt, RETRY_MS)
          return
        }
        this.opening = undefined
        return cb(e as Error)
      }
      try {
        const sock = new Socket({ fd, readable: false, writable: true })
        sock.on('error', (e) => this.destroy(e))
        this.sock = sock
      } catch (e) {
        closeSync(fd)
        this.opening = undefined
        return cb(e as Error)
      }
      this.opening = undefined
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
