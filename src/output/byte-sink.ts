/**
 * Binary/text output to a file or stdout ('-'): the OutputWriter with the old constructor. See
 * OutputWriter for the bound, the errors and the record boundaries.
 */
import type { Writable } from 'node:stream'
import { OutputWriter, type WriterOptions } from './writer.js'

export class ByteSink extends OutputWriter {
  constructor(target: string | Writable, flushAt = 256 * 1024, chunkSize?: number, opts: WriterOptions = {}) {
    super(target, { flushAt, chunkSize, ...opts })
  }
}
