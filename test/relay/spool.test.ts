import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DiskSpool, SpoolLimit } from '../../src/relay/spool.js'

const rec = (i: number) => Buffer.from(`packet ${i} `.padEnd(20 + (i % 7), 'x'))
const dir = () => join(mkdtempSync(join(tmpdir(), 'hep-spool-u-')), 'd')
const segments = (d: string) => readdirSync(d).filter((f) => f.endsWith('.spool'))

function drain(s: DiskSpool): Buffer[] {
  const out: Buffer[] = []
  for (let b = s.shift(); b; b = s.shift()) out.push(b)
  return out
}

describe('DiskSpool', () => {
  it('hands packets out in order across segments; committed segments are deleted, and an empty spool leaves no file', () => {
    const d = dir()
    const s = new DiskSpool(d, new SpoolLimit(1e9), 200)
    for (let i = 0; i < 100; i++) expect(s.append(rec(i))).toBe(true)
    expect(s.packets).toBe(100)
    expect(segments(d).length).toBeGreaterThan(5)
    const first = drain(s).slice()
    expect(first.map(String)).toEqual(Array.from({ length: 100 }, (_, i) => String(rec(i))))
    // all 100 handed out, none waiting, and nothing released before the commits
    expect(s.packets).toBe(0)
    expect(segments(d).length).toBeGreaterThan(5)
    s.commit(50)
    const left = segments(d).length
    expect(left).toBeLessThan(12)
    s.commit(50)
    expect(segments(d)).toEqual([])
    expect(s.bytes).toBe(0)
    s.close()
  })

  it('after a restart, what was handed out but not committed comes again, then the rest, in order', () => {
    const d = dir()
    const limit = new SpoolLimit(1e9)
    const s = new DiskSpool(d, limit, 300)
    for (let i = 0; i < 60; i++) s.append(rec(i))
    for (let i = 0; i < 30; i++) s.shift()
    s.commit(20) // 20..29 handed, not confirmed
    s.close()
    const t = new DiskSpool(d, new SpoolLimit(1e9), 300)
    expect(t.recovered).toBe(40)
    expect(drain(t).map(String)).toEqual(Array.from({ length: 40 }, (_, i) => String(rec(i + 20))))
    t.close()
  })

  it('a record an earlier run left cut short (a crash mid-write) is not read, and appends go to a new segment', () => {
    const d = dir()
    const s = new DiskSpool(d, new SpoolLimit(1e9))
    for (let i = 0; i < 5; i++) s.append(rec(i))
    s.close()
    appendFileSync(join(d, segments(d)[0]), Buffer.from([0, 0, 0, 50, 1, 2, 3]))
    const t = new DiskSpool(d, new SpoolLimit(1e9))
    expect(t.recovered).toBe(5)
    t.append(rec(5))
    expect(segments(d)).toHaveLength(2)
    expect(drain(t).map(String)).toEqual(Array.from({ length: 6 }, (_, i) => String(rec(i))))
    t.close()
  })

  it('the shared limit refuses appends past it; prepend puts packets before all others', () => {
    const limit = new SpoolLimit(24 * 10)
    const a = new DiskSpool(dir(), limit)
    const b = new DiskSpool(dir(), limit)
    const r = Buffer.alloc(20, 1) // 24 bytes on disk
    let ok = 0
    for (let i = 0; i < 8; i++) if (a.append(r)) ok++
    for (let i = 0; i < 8; i++) if (b.append(r)) ok++
    expect(ok).toBe(10)
    expect(limit.used).toBe(240)
    const c = new DiskSpool(dir(), new SpoolLimit(1e9))
    c.append(Buffer.from('third'))
    c.shift() // handed out, then taken back by the caller with two older ones
    c.prepend([Buffer.from('first'), Buffer.from('second'), Buffer.from('third')])
    c.append(Buffer.from('fourth'))
    expect(drain(c).map(String)).toEqual(['first', 'second', 'third', 'fourth'])
  })
})

describe('DiskSpool.prepend after a partial read', () => {
  it('the packets taken back come first, then the unread rest, once each, also after a restart', () => {
    const d = dir()
    const s = new DiskSpool(d, new SpoolLimit(1e9))
    for (let i = 0; i < 10; i++) s.append(rec(i))
    for (let i = 0; i < 6; i++) s.shift() // 0..5 handed out
    s.commit(2) // 0, 1 confirmed; 2..5 come back through prepend (with a live packet before them)
    s.prepend([Buffer.from('live'), rec(2), rec(3), rec(4), rec(5)])
    s.close()
    const t = new DiskSpool(d, new SpoolLimit(1e9))
    expect(t.recovered).toBe(9)
    expect(drain(t).map(String)).toEqual(['live', ...Array.from({ length: 8 }, (_, i) => String(rec(i + 2)))])
  })
})

describe('DiskSpool, a disk that fails behind it', () => {
  it('a position that cannot be saved in the background is thrown at the next call, never from the timer', async () => {
    const { rmSync } = await import('node:fs')
    const d = dir()
    const s = new DiskSpool(d, new SpoolLimit(1e9), 200)
    for (let i = 0; i < 10; i++) s.append(rec(i))
    drain(s)
    s.commit(5) // the position is saved 100 ms later, in a timer
    rmSync(d, { recursive: true, force: true }) // the folder goes (a clean-up job, a lost mount)
    await new Promise((r) => setTimeout(r, 250))
    expect(() => s.append(rec(99))).toThrow(/ENOENT/)
  })
})
