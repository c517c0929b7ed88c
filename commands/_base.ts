/**
 * What every hep command shares: output decided once (JSON lines or human text on stdout,
 * diagnostics on stderr), colour, --quiet, clean errors with documented exit codes, and one stop
 * path for Ctrl-C, SIGTERM and a closed stdout pipe.
 */
import { Command, Errors, Flags, type Interfaces } from '@oclif/core'
import type { ChalkInstance } from 'chalk'
import { HepError } from '../src/errors.js'
import type { HepPacket } from '../src/hep/packet.js'
import { StdinSource } from '../src/input/input.js'
import { endPipes } from '../src/pcap/read/pipe.js'
import { abandonFifos } from '../src/output/fifo.js'
import { DEFAULT_MAX_BUFFER, OutputWriter, parseSize, type OutputError } from '../src/output/writer.js'
import { chunkTable, fullPayload, summaryLine } from './_pretty.js'
import { ProgressLine } from './_progress.js'
import { closest } from './_suggest.js'
import { columnsOf, fit } from './_width.js'
import { colors } from './_lazy.js'

/** Exit codes (README "Exit codes"). */
export const EXIT = {
  OK: 0,
  /** some input was malformed or could not be read; what could be decoded was */
  INPUT: 1,
  /** bad flags or arguments */
  USAGE: 2,
  /** a socket could not be bound or a destination not reached */
  NETWORK: 3,
  /** some packets could not be sent / were dropped */
  PARTIAL: 4,
  /** an output could not be written (disk full, I/O error…); what was written before stays readable */
  OUTPUT: 5,
  /** a bug */
  INTERNAL: 70,
  /** stopped at once: a second Ctrl-C / SIGTERM, or a stop that took over STOP_DEADLINE_MS */
  INTERRUPTED: 130,
} as const

/** After Ctrl-C or SIGTERM, a command has this long to print its summary and end. */
export const STOP_DEADLINE_MS = 1000
/** After Ctrl-C or SIGTERM, how long a sender may still flush what it has queued. */
export const STOP_FLUSH_MS = 400

/** A mistake in flags or arguments: `hep <command>: <message>`, exit code 2. */
/** The exit code of a --metrics server that could not start: 3 if its port could not be bound, 2 for a bad address. */
export function metricsExit(e: unknown): number {
  return e instanceof HepError && e.code === 'NET' ? EXIT.NETWORK : EXIT.USAGE
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** --output-buffer: the bound on output written but not yet accepted by stdout or a file. */
export const outputBufferFlag = Flags.string({
  description:
    'bound on output not yet taken by stdout or a file (e.g. 16M, 1G; default 64M); over it, stream inputs pause and UDP packets are dropped and counted',
  helpValue: 'SIZE',
})

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    json: Flags.boolean({
      description:
        'JSON on stdout, one compact object per line and nothing else: the packets, then one {"summary":true,…} line (not with --quiet)',
      default: false,
    }),
    quiet: Flags.boolean({
      char: 'q',
      description:
        'no diagnostics, progress or summary (with --json: no summary line either); errors still shown',
      default: false,
    }),
    color: Flags.boolean({
      description: 'colour the human output (default: only on a terminal; NO_COLOR honoured)',
      allowNo: true,
    }),
  }

  static override enableJsonFlag = false

  protected flags!: BaseFlags<T>
  protected c!: ChalkInstance
  protected cErr!: ChalkInstance
  protected out!: OutputWriter
  /** --output-buffer in bytes */
  protected maxBuffer = DEFAULT_MAX_BUFFER
  /** aborted on Ctrl-C, SIGTERM or when stdout's reader goes away */
  protected readonly stop = new AbortController()
  protected stopReason: 'signal' | 'pipe' | undefined

  public override async init(): Promise<void> {
    await super.init()
    const { flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ''
    const want = (tty: boolean | undefined) =>
      this.flags.color === true ? true : this.flags.color === false || noColorEnv ? false : Boolean(tty)
    this.c = await colors(want(process.stdout.isTTY))
    this.cErr = await colors(want(process.stderr.isTTY))
    const ob = (this.flags as { 'output-buffer'?: string })['output-buffer']
    if (ob !== undefined) {
      const n = parseSize(ob)
      if (n === undefined)
        this.error(`--output-buffer ${ob}: expected a size such as 64M, 512k or 1G`, { exit: EXIT.USAGE })
      this.maxBuffer = n
    }
    // the writer owns stdout's errors: oclif's own listener rethrows all but EPIPE (a disk full dump)
    process.stdout.removeAllListeners('error')
    this.out = new OutputWriter(process.stdout, {
      name: 'stdout',
      maxBuffer: this.maxBuffer,
      onError: (e) => this.outputFailed(e),
    })
    // stderr's reader gone (`hep decode x 2>&1 | head -2`): stop as for stdout, never a stack
    process.stderr.on('error', (e: NodeJS.ErrnoException) => {
      this.stderrGone = true
      if (e.code !== 'EPIPE') process.exitCode = EXIT.INTERNAL
      this.requestStop('pipe')
    })
    ;(globalThis as Record<symbol, unknown>)[Symbol.for('hep.signals')] = true // bin/run.js: ours now
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
  }

  private signals = 0
  protected stderrGone = false
  /** the command's stdin, handed to its readers: a hint when it is a terminal; a stop ends it */
  protected readonly stdin = new StdinSource(undefined, (what) => {
    if (process.stdin.isTTY) this.note(`reading ${what} from stdin; Ctrl-D ends`)
  })
  /** a Ctrl-C or SIGTERM came (not only a stop by --count, --duration or a closed pipe) */
  protected get signalled(): boolean {
    return this.signals > 0
  }

  /**
   * The first Ctrl-C or SIGTERM stops the command, which then flushes, prints its summary and ends
   * (within STOP_DEADLINE_MS, or it is ended); a second one, or one after another stop, ends at once.
   */
  private readonly onSignal = (): void => {
    if (this.signals++ > 0 || this.stopped) process.exit(EXIT.INTERRUPTED)
    // the terminal echoed ^C where the cursor was: that line is cleared, so nothing starts on it
    if (this.progress) this.endProgress()
    else if (process.stderr.isTTY && !this.stderrGone) process.stderr.write('\r\x1b[2K')
    this.requestStop('signal')
    setTimeout(() => {
      // stdout's reader takes nothing (`| less` at a prompt, a stalled peer): what it has not taken
      // is dropped, so the summary can still come
      const o = process.stdout
      if (o.writableNeedDrain && !o.destroyed) {
        this.note(`stdout: ${o.writableLength} bytes the reader did not take were dropped`)
        o.destroy()
      }
      // and so do FIFOs named as outputs (one with no reader yet stops waiting for one)
      abandonFifos()
    }, STOP_FLUSH_MS).unref()
    setTimeout(() => {
      if (!this.stderrGone) process.stderr.write(`hep ${this.id ?? ''}: could not stop in time; exiting\n`)
      process.exit(EXIT.INTERRUPTED)
    }, STOP_DEADLINE_MS).unref()
  }

  protected requestStop(reason: 'signal' | 'pipe'): void {
    if (this.stop.signal.aborted) return
    this.stopReason = reason
    this.stop.abort()
    // a read of stdin that waits for a terminal or a quiet pipe ends now (as with Ctrl-D), and so
    // does one of a FIFO named as an input
    this.stdin.end()
    endPipes()
  }

  /** Runs a check of flags or arguments; a HepError it throws becomes a usage error (exit code 2). */
  protected usage<R>(check: () => R): R {
    try {
      return check()
    } catch (e) {
      if (e instanceof HepError) throw new UsageError(e.message)
      throw e
    }
  }

  /**
   * An output failed (reported once per output): the reader going away from stdout stops the command
   * (exit 0); any other error is said with the path and the reason and gives exit 5.
   */
  protected outputFailed(e: OutputError): void {
    if (e.path === 'stdout' && (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED')) {
      this.requestStop('pipe')
      return
    }
    this.problem(`cannot write ${e.path}: ${e.reason}`)
    process.exitCode = EXIT.OUTPUT
    if (e.path === 'stdout') this.requestStop('signal')
  }

  protected get stopped(): boolean {
    return this.stop.signal.aborted
  }

  /** stdout's width when it is a terminal (human lines are fitted to it), else undefined */
  private get stdoutColumns(): number | undefined {
    return columnsOf(process.stdout)
  }

  /**
   * One packet on stdout, the one place every command prints a packet: under --json its JSON line
   * (`jsonExtra`, e.g. `,"via":{…}`, goes inside the object), else `tag` and its summary line (fitted
   * to a terminal's width), with --chunks its chunk table, with --full its whole payload.
   */
  protected packetOut(p: HepPacket, tag: string, jsonExtra?: Uint8Array): void {
    if (this.flags.json) this.out.packet(p, jsonExtra)
    else {
      const f = this.flags as { chunks?: boolean; full?: boolean }
      const w = this.stdoutColumns
      const line = `${tag} ${summaryLine(p, this.c)}`
      this.out.line(w === undefined ? line : fit(line, w))
      if (f.chunks) this.out.line(chunkTable(p, this.c, w))
      if (f.full) this.out.line(fullPayload(p, this.c))
    }
  }

  /** The progress line on stderr (a terminal only): shows `text()`, redrawn several times a second. */
  protected progress: ProgressLine | undefined

  protected async startProgress(text: () => string): Promise<void> {
    this.progress = await ProgressLine.start(text, this.flags.quiet || this.stopped)
  }

  /** Clears the progress line (before the summary; on an error; on Ctrl-C). */
  protected endProgress(): void {
    this.progress?.stop()
    this.progress = undefined
  }

  /**
   * The summary, the one place every command decides how: as JSON (default: under --json) one line
   * `{"summary":true,…}` on stdout, the same shape in every command; else `human()` (on stderr).
   * Nothing at all under --quiet.
   */
  protected summaryOut(json: object, human: () => void, asJson: boolean = this.flags.json): void {
    this.endProgress()
    // --quiet: no summary, the JSON line included (`--json -q` is the packets alone)
    if (this.flags.quiet) return
    if (asJson) this.out.line(JSON.stringify({ summary: true, ...json }))
    else human()
  }

  /** A diagnostic line on stderr (silenced by --quiet). */
  protected note(msg: string): void {
    if (!this.flags?.quiet && !this.stderrGone) process.stderr.write(msg + '\n')
  }

  /** A problem with the input on stderr (never silenced). */
  protected problem(msg: string): void {
    if (!this.stderrGone) process.stderr.write(this.cErr.red('error: ') + msg + '\n')
  }

  /** A line on stderr fitted to its width when it is a terminal (summaries, tables are fitted by _pretty). */
  protected get stderrColumns(): number | undefined {
    return columnsOf(process.stderr)
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    this.endProgress()
    try {
      await this.out?.end()
    } catch {
      // stdout gone: nothing more to say there
    }
    return super.finally(err)
  }

  /** Bad input or a network failure: a message that names it, no stack trace. */
  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    this.endProgress()
    if ((err as { parse?: unknown }).parse !== undefined && err instanceof Errors.CLIError) {
      // a flag or argument oclif could not parse: one short line and where to look, not the whole help
      process.stderr.write(
        `hep ${this.id ?? ''}: ${this.parseProblem(err)}; see hep ${this.id ?? ''} --help\n`,
      )
      process.exitCode = EXIT.USAGE
      return
    }
    if (err instanceof UsageError) {
      process.stderr.write(`hep ${this.id ?? ''}: ${err.message}\n`)
      process.exitCode = EXIT.USAGE
      return
    }
    if (err instanceof HepError) {
      process.stderr.write(`hep ${this.id ?? ''}: ${err.message}\n`)
      process.exitCode =
        err.code === 'NET' ? EXIT.NETWORK : err.code === 'HEP_ENCODE' ? EXIT.USAGE : EXIT.INPUT
      return
    }
    const errno = err as NodeJS.ErrnoException
    if (errno.code === 'ENOENT' || errno.code === 'EACCES' || errno.code === 'EISDIR') {
      process.stderr.write(
        `hep ${this.id ?? ''}: cannot read ${errno.path ?? 'input'}: ${errno.code === 'ENOENT' ? 'no such file' : errno.code}\n`,
      )
      process.exitCode = EXIT.INPUT
      return
    }
    if (
      errno.code === 'EADDRINUSE' ||
      errno.code === 'EACCES' ||
      errno.code === 'ECONNREFUSED' ||
      errno.code === 'EADDRNOTAVAIL'
    ) {
      process.stderr.write(`hep ${this.id ?? ''}: network: ${err.message}\n`)
      process.exitCode = EXIT.NETWORK
      return
    }
    // this.exit(): nothing to say
    if (err instanceof Errors.ExitError) return super.catch(err)
    if (err instanceof Errors.CLIError || err.oclif) {
      // this.error(message, { exit }) and oclif's own parse errors: one line (oclif wraps them over
      // several, under " ›   Error:"), with the code given (a parse error is a usage error)
      const lines = err.message
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
      const help = lines.at(-1) === 'See more help with --help'
      if (help) lines.pop()
      process.stderr.write(
        `hep ${this.id ?? ''}: ${lines.join(': ').replace(/:: /g, ': ')}${help ? `; see hep ${this.id ?? ''} --help` : ''}\n`,
      )
      process.exitCode = err.oclif?.exit ?? EXIT.USAGE
      return
    }
    // anything else is our bug: say so plainly, still without drowning the user in a stack
    process.stderr.write(`hep ${this.id ?? ''}: internal error: ${err.message}\n`)
    if (process.env.HEP_DEBUG) process.stderr.write(String(err.stack) + '\n')
    process.exitCode = EXIT.INTERNAL
  }

  /** An oclif parse error in one line, with "did you mean" for a mistyped flag. */
  private parseProblem(err: Errors.CLIError): string {
    const msg = err.message.replace(/\nSee more help with --help$/, '')
    const flags = (err as { flags?: string[] }).flags
    if (flags?.length) {
      const known = Object.entries({
        ...this.ctor.flags,
        ...(this.ctor as typeof BaseCommand).baseFlags,
      }).flatMap(([name, def]) => [name, ...((def as { aliases?: string[] }).aliases ?? [])])
      return flags
        .map((given) => {
          const m = closest(given.replace(/^-+/, '').replace(/=.*$/, ''), known)
          return `unknown flag ${given}${m ? ` (did you mean --${m}?)` : ''}`
        })
        .join('; ')
    }
    // "Missing 1 required arg:\nfiles  captures to replay" and the like: the first line and the names
    return msg
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('Note:') && !l.startsWith('Alternatively'))
      .join(': ')
      .replace(/:(: )/g, '$1') // a line ending in ':' joined to the next
  }
}
