/**
 * The replay scheduler: every packet's send time is computed from the start of the replay, never from
 * the previous packet, so lateness never accumulates and a late packet goes at once. Long gaps wait on
 * a timer (no CPU); the last stretch before a send is met by yielding to the event loop, so short gaps
 * are precise. Modes: original timing, a speed multiplier, a fixed rate, or as fast as possible.
 */
import { performance } from 'node:perf_hooks'
import { sleep } from '../wait.js'

export type TimingMode =
  { kind: 'original'; speed?: number } | { kind: 'pps'; pps: number } | { kind: 'topspeed' }

export interface ScheduleOptions {
  mode: TimingMode
  /** cap every idle gap of the capture at this many seconds (before the speed applies) */
  maxGap?: number
  /** how long before a deadline the timer hands over to precise waiting, ms (default 4: timers can fire 1-2 ms late) */
  spinMs?: number
}

/**
 * Maps capture times to offsets (ms since the replay started). Feed packets in order; across loops
 * call `nextLoop()`, which carries the schedule on from where the previous loop ended.
 */
export class Schedule {
  private first: number | undefined
  private prev: number | undefined
  /** capture-time offset (s) of the current packet, gaps capped, loops carried */
  private offset = 0
  private loopBase = 0
  private index = 0
  private readonly speed: number

  constructor(private readonly opts: ScheduleOptions) {
    this.speed = opts.mode.kind === 'original' ? (opts.mode.speed ?? 1) : 1
    if (!(this.speed > 0)) throw new RangeError('speed must be > 0')
  }

  /** The target offset in ms for a packet captured at `t` seconds (with fraction). */
  at(t: number): number {
    const m = this.opts.mode
    const i = this.index++
    if (m.kind === 'topspeed') return 0
    if (m.kind === 'pps') return (i * 1000) / m.pps
    if (this.first === undefined) {
      this.first = t
      this.prev = t
      this.offset = this.loopBase
    } else {
      // a record earlier than the latest one seen (out of order in the capture) goes at once, and the
      // schedule of the following ones stays that of the capture
      let gap = t - (this.prev as number)
      if (gap > 0) {
        if (this.opts.maxGap !== undefined && gap > this.opts.maxGap) gap = this.opts.maxGap
        this.offset += gap
        this.prev = t
      }
    }
    return (this.offset * 1000) / this.speed
  }

  /** Starts the next loop right after this one: one average gap after the last packet. */
  nextLoop(): void {
    const m = this.opts.mode
    if (m.kind !== 'original') return
    const n = this.index
    const span = this.offset - this.loopBase
    this.loopBase = this.offset + (n > 1 ? span / (n - 1) : 0)
    this.first = undefined
  }
}

/** Timing statistics the scheduler measured: lateness of each send against its target, ms. */
export class TimingStats {
  private samples: number[] = []
  private count = 0
  late = 0

  add(errorMs: number): void {
    this.count++
    if (errorMs > 1) this.late++
    // keep at most 100k samples (reservoir) for the percentiles
    if (this.samples.length < 100_000) this.samples.push(errorMs)
    else {
      const j = Math.floor(Math.random() * this.count)
      if (j < this.samples.length) this.samples[j] = errorMs
    }
  }

  summary(): { median: number; p99: number; max: number; count: number } {
    if (this.samples.length === 0) return { median: 0, p99: 0, max: 0, count: 0 }
    const s = [...this.samples].sort((a, b) => a - b)
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]
    return { median: q(0.5), p99: q(0.99), max: s[s.length - 1], count: this.count }
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r))

/**
 * Waits until `start + offsetMs` (performance.now() clock); gives the lateness in ms (>= 0) — at once,
 * without a promise, when the deadline has already passed. Ends early when the signal aborts.
 */
export function waitUntil(
  start: number,
  offsetMs: number,
  signal?: AbortSignal,
  spinMs = 4,
): number | Promise<number> {
  const left = start + offsetMs - performance.now()
  if (left <= 0 || signal?.aborted) return left <= 0 ? -left : 0
  return waitLoop(start + offsetMs, signal, spinMs)
}

async function waitLoop(target: number, signal: AbortSignal | undefined, spinMs: number): Promise<number> {
  for (;;) {
    if (signal?.aborted) return 0
    const left = target - performance.now()
    if (left <= 0) return -left
    if (left > spinMs) await sleep(left - spinMs, signal)
    else await tick()
  }
}
