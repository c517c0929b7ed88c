/**
 * One capture engine process: spawned with its arguments, its stdout (the capture) handed on as a
 * stream, its stderr kept (the tail: errors and the closing drop counts), its start told once it
 * says it captures (or its first bytes come), and its stop: SIGTERM (the engine writes its
 * statistics and ends its file), SIGKILL when it does not end within a deadline.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { Transform, type Readable } from 'node:stream'
import type { Engine } from './engine.js'

/** stderr kept per process (its last bytes) */
const STDERR_KEEP = 16 * 1024

export class EngineProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>
  /** the capture bytes (stdout, through a tap that sees each chunk as it passes) */
  readonly output: Readable
  /** told each chunk of the capture as it passes (the --write copy) */
  onChunk: ((chunk: Buffer) => void) | undefined
  /** the tail of what it said on stderr */
  stderr = ''
  /** it said it captures, or its capture began to come */
  started = false
  exitCode: number | null = null
  signal: NodeJS.Signals | null = null
  /** the process has ended (stdout may still hold the last bytes) */
  readonly exited: Promise<void>
  /** resolves true once started, false if it ended before */
  readonly ready: Promise<boolean>

  constructor(
    readonly engine: Engine,
    readonly args: string[],
    readonly interfaces: string[],
  ) {
    this.child = spawn(engine.path, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let onReady: (v: boolean) => void = () => {}
    this.ready = new Promise((r) => (onReady = r))
    const start = () => {
      if (this.started) return
      this.started = true
      onReady(true)
    }
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-STDERR_KEEP)
      // tcpdump says "listening on X, link-type ..." once the capture is open (dumpcap's "Capturing
      // on" comes before it opens anything: its first bytes, the section header, tell instead)
      if (engine.name === 'tcpdump' && /listening on/.test(this.stderr)) start()
    })
    this.output = this.child.stdout.pipe(
      new Transform({
        highWaterMark: 256 * 1024,
        transform: (chunk: Buffer, _enc, cb) => {
          start()
          this.onChunk?.(chunk)
          cb(null, chunk)
        },
      }),
    )
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.stderr += `\n${e.message}`
        this.exitCode = -1
        onReady(false)
        resolve()
      })
      this.child.on('exit', (code, signal) => {
        this.exitCode = code
        this.signal = signal
        onReady(false)
        resolve()
      })
    })
  }

  /** Ask it to stop (SIGTERM); killed if not gone after `deadlineMs`. Resolves once it has ended. */
  async stop(deadlineMs = 300): Promise<void> {
    if (this.exitCode === null && this.signal === null) {
      this.child.kill('SIGTERM')
      const t = setTimeout(() => this.child.kill('SIGKILL'), deadlineMs)
      await this.exited
      clearTimeout(t)
    }
  }
}
