/**
 * Where capture bytes come from: a regular file (positional reads, one read ahead), a FIFO or device
 * (sequential reads), stdin ('-') or any Readable; gzip-compressed or not (told by the first two bytes).
 * One loop feeds the parser whatever the source, and turns gzip failures into capture errors.
 */
import { open as openFile, type FileHandle } from 'node:fs/promises'
import { pipeline, type Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { CaptureError, type HepErrorCode } from '../../errors.js'
import { openPipe } from './pipe.js'
import { CaptureParser } from './parser.js'
import {
  DEFAULT_MAX_RECORD_LENGTH,
  DEFAULT_READ_SIZE,
  type CaptureInfo,
  type CaptureRecord,
  isCaptureMagic,
  type ReadOptions,
} from './format.js'

type Chunk = Buffer | Uint8Array | string

/**
 * Chunks of a regular file, read with positional reads into fresh buffers, the next read always in flight while
 * the consumer works on the current chunk (at most one chunk read ahead).
 */
async function* readChunks(fh: FileHandle, size: number): AsyncGenerator<Buffer> {
  let pos = 0
  let next: Promise<{ bytesRead: number; buffer: Buffer }> | undefined
  const read = (): Promise<{ bytesRead: number; buffer: Buffer }> => {
    const p = fh.read(Buffer.allocUnsafeSlow(size), 0, size, pos)
    p.catch(() => undefined) // observed when awaited; never an unhandled rejection meanwhile
    return p
  }
  try {
    next = read()
    for (;;) {
      const r = await next
      next = undefined
      if (r.bytesRead === 0) return
      pos += r.bytesRead
      next = read()
      yield r.bytesRead < size ? r.buffer.subarray(0, r.bytesRead) : r.buffer
    }
  } finally {
    if (next) await next.catch(() => undefined)
    await fh.close()
  }
}

/** Chunks from foreign streams may be strings or plain Uint8Arrays. */
function toBuffer(c: Chunk): Buffer {
  if (Buffer.isBuffer(c)) return c
  return typeof c === 'string' ? Buffer.from(c, 'latin1') : Buffer.from(c.buffer, c.byteOffset, c.byteLength)
}

function isGzipError(e: unknown): e is NodeJS.ErrnoException {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' && code.startsWith('Z_')
}

interface Opened {
  it: AsyncIterator<Chunk>
  /** the stream behind `it`, when there is one (destroyed to stop a read parked on it) */
  stream?: Partial<Readable>
}

/** The source's chunks as they come, with the first ones (read to look for the gzip magic) put back. */
async function* replay(head: Buffer[], src: Opened): AsyncGenerator<Buffer> {
  yield* head
  for (;;) {
    const r = await src.it.next()
    if (r.done) return
    yield toBuffer(r.value)
  }
}

/**
 * Reads a pcap or pcapng file (optionally gzip-compressed) from a path, '-' (stdin) or any Readable.
 *
 *   for await (const batch of new CaptureReader(path).batches()) for (const rec of batch) ...
 *   for await (const rec of new CaptureReader(path)) ...
 *
 * One reader reads its source once.
 */
export class CaptureReader {
  private readonly source: string | NodeJS.ReadableStream
  private readonly readSize: number
  private readonly maxRecordLength: number
  private parser: CaptureParser | undefined
  private started = false

  constructor(source: string | NodeJS.ReadableStream, options: ReadOptions = {}) {
    this.source = source
    this.readSize = Math.max(1, Math.floor(options.readSize ?? DEFAULT_READ_SIZE))
    this.maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH
  }

  /** File format details, known once the file header has been read. */
  get info(): CaptureInfo | undefined {
    return this.parser?.info
  }

  /** Decompressed bytes consumed so far. */
  get bytesRead(): number {
    return this.parser?.bytesFed ?? 0
  }

  /** Records read so far. */
  get recordsRead(): number {
    return this.parser?.count ?? 0
  }

  private async open(): Promise<Opened> {
    const src = this.source
    if (typeof src !== 'string' || src === '-') {
      const stream = src === '-' ? process.stdin : src
      return {
        it: (stream as AsyncIterable<Chunk>)[Symbol.asyncIterator](),
        stream: stream as Partial<Readable>,
      }
    }
    // a FIFO: read as a pipe, which Ctrl-C can stop while its writer is quiet (pcap/read/pipe.ts)
    const pipe = openPipe(src)
    if (pipe) return { it: (pipe as AsyncIterable<Chunk>)[Symbol.asyncIterator](), stream: pipe }
    const fh = await openFile(src, 'r')
    let regular: boolean
    try {
      regular = (await fh.stat()).isFile()
    } catch (e) {
      await fh.close()
      throw e
    }
    if (regular) return { it: readChunks(fh, this.readSize) }
    // a FIFO, a device...: sequential reads only
    const stream = fh.createReadStream({ highWaterMark: this.readSize })
    return { it: stream[Symbol.asyncIterator](), stream }
  }

  /** The records, in order, one array per read chunk (chunks that complete no record are skipped). */
  async *batches(): AsyncGenerator<CaptureRecord[]> {
    if (this.started) throw new Error('CaptureReader: a reader can be iterated only once')
    this.started = true
    const src = await this.open()
    // look at the first bytes for the gzip magic
    const head: Buffer[] = []
    let headLen = 0
    while (headLen < 2) {
      const r = await src.it.next()
      if (r.done) break
      const c = toBuffer(r.value)
      head.push(c)
      headLen += c.length
    }
    const first = head.length === 1 ? head[0] : Buffer.concat(head)
    const gzip = isCaptureMagic(first) === 'gzip'
    const parser = new CaptureParser({ maxRecordLength: this.maxRecordLength, compressed: gzip })
    this.parser = parser
    let chunks: AsyncIterable<Buffer> = replay(head, src)
    let gunzip: ReturnType<typeof createGunzip> | undefined
    if (gzip) {
      gunzip = createGunzip({ chunkSize: Math.max(64, this.readSize) })
      pipeline(chunks, gunzip, () => {
        // errors surface through the iteration of gunzip below
      })
      chunks = gunzip
    }
    let finished = false
    try {
      for await (const c of chunks) {
        const recs = parser.push(c)
        if (recs.length > 0) yield recs
        if (parser.failed) throw parser.failed
      }
      finished = true
    } catch (e) {
      if (!isGzipError(e)) throw e
      if (parser.failed) throw parser.failed
      const truncated = /unexpected end/i.test(e.message) || e.code === 'Z_BUF_ERROR'
      const code: HepErrorCode = truncated ? 'CAPTURE_TRUNCATED' : 'CAPTURE_FORMAT'
      const detail = truncated ? 'the gzip stream is cut off' : 'corrupt gzip data'
      throw new CaptureError(code, parser.count + 1, parser.resumeOffset, `${detail} (${e.message})`)
    } finally {
      gunzip?.destroy()
      // stopped early (break, error): a read may be parked on the source, so stop it directly
      if (!finished) {
        if (src.stream) src.stream.destroy?.()
        else await src.it.return?.(undefined)?.catch(() => undefined)
      }
    }
    parser.end()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<CaptureRecord> {
    for await (const batch of this.batches()) {
      for (let i = 0; i < batch.length; i++) yield batch[i]
    }
  }
}

/** Read a whole capture into memory (tests, small files). */
export async function readAll(
  source: string | NodeJS.ReadableStream,
  options?: ReadOptions,
): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = []
  for await (const batch of new CaptureReader(source, options).batches()) {
    for (let i = 0; i < batch.length; i++) out.push(batch[i])
  }
  return out
}
