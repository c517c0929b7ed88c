/**
 * A FIFO (or a Unix socket file) as an input, read the way stdin's pipe is: opened without waiting
 * for a writer and read when epoll says there is data, never by a read parked on libuv's thread
 * pool. Such a read cannot be stopped: Ctrl-C on a FIFO whose writer was quiet printed "could not
 * stop in time" and the process still waited until the writer wrote or closed (libuv joins its
 * thread pool at exit).
 */
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs'
import { Socket } from 'node:net'
import { PassThrough, type Readable } from 'node:stream'

/** The FIFOs open now, each with what ends it (endPipes). */
const open = new Set<() => void>()

/**
 * Stops reading every FIFO opened here (Ctrl-C, as stdin's end()): what was read is still
 * delivered, then the end of input.
 */
export function endPipes(): void {
  for (const end of [...open]) end()
}

/** Whether `path` names a FIFO or a socket (undefined when it cannot be looked at). */
export function isPipePath(path: string): boolean {
  try {
    const st = statSync(path)
    return st.isFIFO() || st.isSocket()
  } catch {
    return false
  }
}

/**
 * The FIFO at `path` as a stream; undefined when it is none (or cannot be opened so: the caller
 * opens it as before, and reports what fails). Until a writer opens the FIFO and writes, the stream
 * just waits; the writer closing it ends the stream; destroy() stops it at once.
 */
export function openPipe(path: string): Readable | undefined {
  if (!isPipePath(path)) return undefined
  let fd: number
  try {
    // O_NONBLOCK: open(2) of a FIFO would otherwise wait for a writer, on a thread-pool thread
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch {
    return undefined
  }
  try {
    if (!fstatSync(fd).isFIFO()) {
      closeSync(fd)
      return undefined
    }
    return stoppable(new Socket({ fd, readable: true, writable: false }))
  } catch {
    closeSync(fd)
    return undefined
  }
}

/** `input` behind a view that endPipes() can end on purpose, as StdinSource does for stdin. */
function stoppable(input: Socket): Readable {
  const view = new PassThrough({ highWaterMark: 256 * 1024 })
  const end = (): void => {
    open.delete(end)
    if (view.writableEnded) return
    input.unpipe(view)
    input.on('error', () => {})
    input.destroy()
    view.end()
  }
  open.add(end)
  input.on('error', (e) => {
    open.delete(end)
    view.destroy(e)
  })
  input.on('end', () => open.delete(end))
  // a reader that stops early (destroy) lets go of the FIFO too
  view.on('close', () => {
    open.delete(end)
    input.destroy()
  })
  input.pipe(view)
  return view
}
