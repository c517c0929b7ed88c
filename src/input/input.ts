/**
 * Opening inputs (files, '-' for stdin, gzip) and telling their format from the first bytes.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs'
import { PassThrough, Readable } from 'node:stream'
import { HepError } from '../errors.js'
import { isCaptureMagic } from '../pcap/read/format.js'
import { openPipe } from '../pcap/read/pipe.js'

/** Format names shared by decode, convert and send (`--from` / `--into`). */
export type HepFormat = 'raw' | 'hex' | 'jsonl' | 'pcap' | 'pcapng' | 'hep-pcap'
export const HEP_FORMATS: readonly HepFormat[] = ['raw', 'hex', 'jsonl', 'pcap', 'pcapng', 'hep-pcap']

export const READ_SIZE = 256 * 1024
/** a file is read a MiB at a time: a fourth of the reads (each a new buffer and a trip to the thread pool) */
const FILE_READ_SIZE = 1024 * 1024

export function inputName(path: string): string {
  return path === '-' ? 'stdin' : path
}

/**
 * A process's stdin as an input: process.stdin behind a stream that `end()` can end on purpose
 * (Ctrl-C while a terminal or a quiet pipe gives nothing), so its readers see a clean end of input,
 * as after Ctrl-D. The CLI makes one per command and hands it to the readers (`stdin` options);
 * a reader given none makes its own.
 */
export class StdinSource {
  private view: PassThrough | undefined
  private input: NodeJS.ReadStream | undefined
  /** end() was called */
  private stopped = false

  constructor(
    /** the stream read (default process.stdin, which is touched only when first read) */
    private readonly source: () => NodeJS.ReadStream = () => process.stdin,
    /** called once, when stdin is first read (the CLI prints a hint on a terminal); `what` names the input */
    private readonly onOpened?: (what: string) => void,
  ) {}

  /** The stream of stdin (the same one each call). `what` names the input for the hint ("HEP", "a capture"). */
  stream(what = 'HEP'): Readable {
    if (this.view === undefined && this.stopped) {
      // ended before it was first read (a stop while an earlier input was read): empty
      this.view = new PassThrough()
      this.view.end()
    }
    if (this.view === undefined) {
      const view = new PassThrough({ highWaterMark: READ_SIZE })
      const input = (this.input = this.source())
      this.view = view
      input.on('error', (e) => view.destroy(e))
      input.pipe(view)
      this.onOpened?.(what)
    }
    return this.view
  }

  /** Stops reading stdin: what was read is still delivered, then the end. */
  end(): void {
    this.stopped = true
    const { view, input } = this
    if (view === undefined || input === undefined || view.writableEnded) return
    input.unpipe(view)
    input.on('error', () => {})
    input.destroy()
    view.end()
  }
}

export function openInput(path: string, stdin?: StdinSource): Readable {
  if (path === '-') return (stdin ?? new StdinSource()).stream()
  // a FIFO is read as a pipe, so Ctrl-C can stop a read that waits for its writer (pcap/read/pipe.ts)
  return openPipe(path) ?? createReadStream(path, { highWaterMark: FILE_READ_SIZE })
}

/** Format from the first bytes; undefined when they say nothing. */
export function sniffFormat(head: Buffer): HepFormat | undefined {
  if (head.length === 0) return undefined
  const capture = isCaptureMagic(head)
  if (capture !== undefined) return capture === 'gzip' ? 'pcap' : capture // gzip: only captures are compressed
  if (head.length >= 4 && head.readUInt32BE(0) === 0x48455033) return 'raw'
  if ((head[0] === 1 || head[0] === 2) && head.length >= 3 && (head[2] === 2 || head[2] === 10)) return 'raw'
  let i = 0
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d))
    i++
  if (head[i] === 0x7b /* { */) return 'jsonl'
  const probe = head.subarray(i, Math.min(head.length, i + 64)).toString('latin1')
  if (/^(#.*\n\s*)*[0-9a-fA-F]{8}/.test(probe)) return 'hex'
  return undefined
}

/**
 * Reads the first chunk of a stream to sniff it; returns the format and a stream that still yields
 * every byte (the sniffed chunk first).
 */
export async function sniffStream(
  stream: Readable,
  name: string,
): Promise<{ format: HepFormat | undefined; stream: Readable; empty: boolean }> {
  const it = stream[Symbol.asyncIterator]()
  let first: Buffer = Buffer.alloc(0)
  // gather at least 64 bytes (stdin may come in small pieces)
  let done = false
  while (first.length < 64) {
    const r = await it.next()
    if (r.done) {
      done = true
      break
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : (r.value as Buffer)
    first = first.length === 0 ? chunk : Buffer.concat([first, chunk])
  }
  const head = first
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head
    if (done) return
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield typeof r.value === 'string' ? Buffer.from(r.value) : (r.value as Buffer)
    }
  }
  void name
  return {
    format: sniffFormat(head),
    stream: Readable.from(rest(), { objectMode: false }),
    empty: head.length === 0,
  }
}

/** The first 64 bytes of a file (fewer if it is shorter). Errors (ENOENT...) are thrown as they are. */
export function sniffFile(path: string): Buffer {
  const fd = openSync(path, 'r')
  try {
    const b = Buffer.alloc(64)
    return b.subarray(0, readSync(fd, b, 0, 64, 0))
  } finally {
    closeSync(fd)
  }
}

export function formatFromExtension(path: string): HepFormat | undefined {
  const p = path.toLowerCase().replace(/\.gz$/, '')
  if (p.endsWith('.hep.pcap')) return 'hep-pcap'
  if (p.endsWith('.pcapng')) return 'pcapng'
  if (p.endsWith('.pcap') || p.endsWith('.cap')) return 'pcap'
  if (p.endsWith('.hep') || p.endsWith('.raw') || p.endsWith('.bin')) return 'raw'
  if (p.endsWith('.hex')) return 'hex'
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson') || p.endsWith('.json')) return 'jsonl'
  return undefined
}

export function unknownFormat(name: string, head?: Buffer): HepError {
  let seen = ''
  if (head && head.length) {
    const text = head.subarray(0, 24).toString('latin1')
    // eslint-disable-next-line no-control-regex
    seen = /^[\x09\x0a\x0d\x20-\x7e]+$/.test(text)
      ? ` (it starts with text: ${JSON.stringify(text.split(/\r?\n/)[0])})`
      : ` (first bytes ${head.subarray(0, 8).toString('hex')})`
  }
  return new HepError(
    'INPUT_FORMAT',
    `${name}: neither HEP nor a capture${seen}; hep reads HEP as raw, hex or JSON lines, and pcap/pcapng captures`,
  )
}
