/**
 * The live progress line of replay, convert and capture: one line on stderr, only on a terminal,
 * redrawn several times a second from the caller's live figures (so elapsed time moves while nothing
 * arrives), shortened to the terminal's width, and cleared (not left behind) when it stops: before
 * the summary, on an error and on Ctrl-C. cli-progress draws it (imported only when a line is shown).
 */
import type { SingleBar } from 'cli-progress'
import { fit } from './_width.js'

/** Redraws per second. */
export const PROGRESS_FPS = 8

export class ProgressLine {
  private constructor(private bar: SingleBar | undefined) {}

  /**
   * A line showing `text()` on stderr, or undefined when stderr is not a terminal (or `quiet`):
   * a pipe or a file never gets one.
   */
  static async start(text: () => string, quiet: boolean): Promise<ProgressLine | undefined> {
    if (quiet || !process.stderr.isTTY) return undefined
    const { SingleBar: Bar } = (await import('cli-progress')).default
    const bar = new Bar({
      stream: process.stderr,
      fps: PROGRESS_FPS,
      hideCursor: true,
      clearOnComplete: true,
      linewrap: false,
      // redrawn from the live figures, even when they did not change (the elapsed time moves)
      forceRedraw: true,
      format: (_o, params) => fit(text(), Math.max(10, params.maxWidth - 1)),
    })
    bar.start(1, 0)
    return new ProgressLine(bar)
  }

  /** Clears the line (the cursor back at the start of it); the next output starts there. */
  stop(): void {
    const bar = this.bar
    this.bar = undefined
    bar?.stop()
  }
}
