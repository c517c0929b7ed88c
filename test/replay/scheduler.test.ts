import { performance } from 'node:perf_hooks'
import { describe, expect, it } from 'vitest'
import { Schedule, TimingStats, waitUntil } from '../../src/replay/scheduler.js'

describe('Schedule', () => {
  it('original timing: offsets from the first packet, never from the previous one', () => {
    const s = new Schedule({ mode: { kind: 'original' } })
    expect([100, 100.5, 100.5, 103.25].map((t) => s.at(t))).toEqual([0, 500, 500, 3250])
  })

  it('speed divides, max-gap caps each gap before the speed applies', () => {
    const s = new Schedule({ mode: { kind: 'original', speed: 2 }, maxGap: 1 })
    expect([10, 10.5, 40, 40.25].map((t) => s.at(t))).toEqual([0, 250, 750, 875])
  })

  it('a record earlier than the previous one goes at once (no negative gap)', () => {
    const s = new Schedule({ mode: { kind: 'original' } })
    expect([5, 6, 5.5, 7].map((t) => s.at(t))).toEqual([0, 1000, 1000, 2000])
  })

  it('pps spaces packets evenly whatever the capture says; topspeed is always now', () => {
    const p = new Schedule({ mode: { kind: 'pps', pps: 200 } })
    expect([1, 1, 9, 2].map((t) => p.at(t))).toEqual([0, 5, 10, 15])
    const t = new Schedule({ mode: { kind: 'topspeed' } })
    expect([1, 50].map((x) => t.at(x))).toEqual([0, 0])
  })

  it('loops carry the schedule on: the second loop starts one average gap after the first ended', () => {
    const s = new Schedule({ mode: { kind: 'original' } })
    const first = [0, 1, 2].map((t) => s.at(t))
    s.nextLoop()
    const second = [0, 1, 2].map((t) => s.at(t))
    expect(first).toEqual([0, 1000, 2000])
    expect(second).toEqual([3000, 4000, 5000])
  })
})

describe('TimingStats', () => {
  it('gives median, p99 and max', () => {
    const t = new TimingStats()
    for (let i = 1; i <= 100; i++) t.add(i / 100)
    const s = t.summary()
    expect(s.count).toBe(100)
    expect(s.median).toBeCloseTo(0.51, 5)
    expect(s.p99).toBeCloseTo(1, 5)
    expect(s.max).toBe(1)
  })
})

describe('waitUntil', () => {
  it('meets short and long deadlines within a couple of ms, without accumulating lateness', async () => {
    const start = performance.now()
    const targets = [1, 2.5, 3, 10, 10.2, 35, 60]
    const errs: number[] = []
    for (const t of targets) {
      await waitUntil(start, t)
      errs.push(performance.now() - start - t)
    }
    expect(Math.min(...errs)).toBeGreaterThanOrEqual(0)
    // precision is the benchmark's business (median 0.2 ms there); here: bounded, and not accumulating
    expect(Math.max(...errs)).toBeLessThan(15)
    expect(errs[errs.length - 1]).toBeLessThan(15)
  })

  it('returns at once when the deadline has passed, and when aborted', async () => {
    const start = performance.now() - 100
    expect(await waitUntil(start, 10)).toBeGreaterThanOrEqual(90)
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 20)
    const t0 = performance.now()
    await waitUntil(performance.now(), 10_000, ac.signal)
    expect(performance.now() - t0).toBeLessThan(1000)
  })
})
