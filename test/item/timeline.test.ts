// Inputs merged by time (replay, calls) are closed however the merge ends: an early stop of the
// consumer (--limit, Ctrl-C, a break) or one input's error. (mergeByTime left them open: the files,
// gzip streams and stdin of the other inputs stayed open after a stop.)
import { randomBytes } from 'node:crypto'
import { readdirSync, readlinkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { CaptureItems } from '../../src/capture/items.js'
import { makeItem, type HepItem } from '../../src/item/item.js'
import { mergeByTime, timeline } from '../../src/item/timeline.js'
import { writePcap } from '../helpers/mini-pcap.js'
import { ipv4, udp } from '../pcap/build.js'

/** An input of `n` batches of 2 items at times start, start+2...; tells whether it was closed. */
function source(start: number, n = 5, failAt?: number) {
  const state = { closed: false, ended: false }
  async function* gen(): AsyncGenerator<HepItem[]> {
    try {
      for (let b = 0; b < n; b++) {
        if (b === failAt) throw new Error(`input at ${start} failed`)
        const t = start + b * 4
        yield [0, 2].map((d) =>
          makeItem(t + d, { source: `s${start}` }, { capture: { seconds: t + d, nanos: 0 } as never }),
        )
      }
      state.ended = true
    } finally {
      state.closed = true
    }
  }
  return { it: gen(), state }
}

const time = (it: HepItem) => it.capture?.seconds ?? 0

describe('mergeByTime and timeline close their inputs', () => {
  it('a break after the first items closes every input', async () => {
    const a = source(0)
    const b = source(1)
    const got: number[] = []
    for await (const it of mergeByTime([a.it, b.it], time)) {
      got.push(time(it))
      if (got.length === 3) break
    }
    expect(got).toEqual([0, 1, 2])
    expect(a.state).toEqual({ closed: true, ended: false })
    expect(b.state).toEqual({ closed: true, ended: false })
  })

  it('timeline (several inputs, chunks of 256): a break closes them', async () => {
    const inputs = [source(0, 400), source(1, 400), source(3, 400)]
    let chunks = 0
    for await (const chunk of timeline(
      inputs.map((s) => s.it),
      time,
    )) {
      expect(chunk).toHaveLength(256)
      if (++chunks === 2) break
    }
    for (const s of inputs) expect(s.state).toEqual({ closed: true, ended: false })
  })

  it('timeline of one input: a break closes it', async () => {
    const a = source(0, 400)
    for await (const chunk of timeline([a.it], time)) {
      expect(chunk).toHaveLength(2)
      break
    }
    expect(a.state.closed).toBe(true)
  })

  it("one input's error closes the others, and is the error the consumer gets", async () => {
    const a = source(0)
    const b = source(1, 5, 2)
    const c = source(2)
    const got: number[] = []
    await expect(
      (async () => {
        for await (const it of mergeByTime([a.it, b.it, c.it], time)) got.push(time(it))
      })(),
    ).rejects.toThrow('input at 1 failed')
    expect(got.length).toBeGreaterThan(0)
    for (const s of [a, b, c]) expect(s.state.closed).toBe(true)
  })

  it('read to the end: every input ended and closed, all items in time order', async () => {
    const inputs = [source(0), source(1), source(3)]
    const got: number[] = []
    for await (const it of mergeByTime(
      inputs.map((s) => s.it),
      time,
    ))
      got.push(time(it))
    expect(got).toHaveLength(30)
    expect([...got].sort((x, y) => x - y)).toEqual(got)
    for (const s of inputs) expect(s.state).toEqual({ closed: true, ended: true })
  })
})

describe('captures merged by time: an early stop releases their files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hep-timeline-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** this process's descriptors open on `paths` */
  const openOn = (paths: string[]) =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return paths.includes(readlinkSync(`/proc/self/fd/${fd}`))
      } catch {
        return false // the descriptor readdir itself used
      }
    }).length

  /** a capture of `n` SIP messages over UDP, one a second (link type 101: raw IP); gzip leaves it large */
  const sipCapture = (n: number) =>
    writePcap(
      101,
      Array.from({ length: n }, (_, i) =>
        ipv4(
          udp(
            5060,
            5060,
            `OPTIONS sip:a@b SIP/2.0\r\nCall-ID: ${i}\r\nX-Noise: ${randomBytes(100).toString('hex')}\r\nContent-Length: 0\r\n\r\n`,
          ),
        ),
      ),
    )

  it.runIf(process.platform === 'linux')(
    'a plain pcap and a gzipped one: open while read, closed after a break',
    async () => {
      const plain = join(dir, 'a.pcap')
      const gz = join(dir, 'b.pcap.gz')
      writeFileSync(plain, sipCapture(3000))
      writeFileSync(gz, gzipSync(sipCapture(3000)))
      // small reads: neither capture is read whole by its first reads
      const captures = [plain, gz].map(
        (f) => new CaptureItems(f, f, { mode: 'sip', rtcp: 'off', extract: { readSize: 4096 } }),
      )
      let items = 0
      for await (const batch of timeline(captures.map((c) => c.batches()))) {
        items += batch.length
        expect(openOn([plain, gz])).toBe(2)
        break
      }
      expect(items).toBe(256)
      expect(captures[0].stats.records).toBeLessThan(3000)
      expect(openOn([plain, gz])).toBe(0)
    },
  )
})
