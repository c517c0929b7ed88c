/**
 * A FIFO (or a terminal named by its path) as an input, read the way stdin's pipe is: opened
 * without waiting for a writer and read when epoll says there is data, never by a read parked on
 * libuv's thread pool. Such a read cannot be stopped: Ctrl-C on a FIFO whose writer was quiet
 * printed "could not stop in time" and the process still waited until the writer wrote or closed
 * (libuv joins its thread pool at exit).
 */
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs'
import { Socket } from 'node:net'
import { PassThrough, type Readable } from 'node:stream'
import { isatty, ReadStream } from 'node:tty'

/** The FIFOs of this process opened as inputs, each with what ends it (endPipes). */
class OpenPipes {
  readonly ends = new Set<() => void>()
  /** endPipes() was called: a FIFO opened after it (the second input of a merge) is empty */
  ended = false
}
const pipes = new OpenPipes()

/**
 * Stops reading every FIFO opened here (Ctrl-C, as stdin's end()): what was read is still
 * delivered, then the end of input; one opened after it is empty.
 */
export function endPipes(): void {
  pipes.ended = true
  for (const end of [...pipes.ends]) end()
}

/**
 * Whether `path` names a FIFO or a character device (which may be a terminal: /dev/tty, /dev/pts/N);
 * false too when it cannot be looked at.
 */
function isPipePath(path: string): boolean {
  try {
    const st = statSync(path)
    return st.isFIFO() || st.isCharacterDevice()
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
  if (pipes.ended) {
    // stopped before this input was reached: it ends at once (waiting for its writer would hold the stop)
    const empty = new PassThrough()
    empty.end()
    return empty
  }
  let fd: number
  try {
    // O_NONBLOCK: open(2) of a FIFO would otherwise wait for a writer, on a thread-pool thread;
    // O_NOCTTY: a terminal opened so never becomes the process's controlling terminal
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  } catch {
    return undefined
  }
  try {
    if (fstatSync(fd).isFIFO()) return stoppable(new Socket({ fd, readable: true, writable: false }))
    // a terminal named by its path is read as stdin's terminal is (a read of it on the thread pool
    // waited for Enter, whatever Ctrl-C did); other devices (/dev/zero...) are read as files
    if (isatty(fd)) return stoppable(new ReadStream(fd))
    closeSync(fd)
    return undefined
  } catch {
    closeSync(fd)
    return undefined
  }
}

/** `input` behind a view that endPipes() can end on purpose, as StdinSource does for stdin. */
function stoppable(input: Socket): Readable {
  const view = new PassThrough({ highWaterMark: 256 * 1024 })
  const end = (): void => {
    pipes.ends.delete(end)
    if (view.writableEnded || view.destroyed) return
    input.unpipe(view)
    input.on('error', () => {})
    input.destroy()
    view.end()
  }
  pipes.ends.add(end)
  input.on('error', (e) => {
    pipes.ends.delete(end)
    view.destroy(e)
  })
  input.on('end', () => pipes.ends.delete(end))
  // a reader that stops early (destroy) lets go of the FIFO too
  view.on('close', () => {
    pipes.ends.delete(end)
    input.destroy()
  })
  input.pipe(view)
  return view
}
