/**
 * Line output to stdout (or any stream): the OutputWriter with the old constructor. A closed pipe
 * (`| head`) is reported once through `onClosed`; see OutputWriter for the bound and the errors.
 */
import type { Writable } from 'node:stream'
import { OutputWriter, type WriterOptions } from './writer.js'

export class LineWriter extends OutputWriter {
  constructor(
    out: Writable,
    onClosed: () => void = () => {},
    flushAt = 64 * 1024,
    chunkSize?: number,
    opts: WriterOptions = {},
  ) {
    super(out, {
      flushAt,
      chunkSize,
      ...opts,
      onError: (e) => {
        if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') onClosed()
        opts.onError?.(e)
      },
    })
  }
}
