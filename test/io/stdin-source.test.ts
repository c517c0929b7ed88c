/** StdinSource: stdin as an input that a stop (Ctrl-C) ends cleanly, as Ctrl-D would. */
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { StdinSource } from '../../src/input/input.js'

function fakeStdin(): PassThrough & NodeJS.ReadStream {
  return new PassThrough() as PassThrough & NodeJS.ReadStream
}

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  let out = ''
  for await (const c of s) out += String(c)
  return out
}

describe('StdinSource', () => {
  it('touches stdin only when first read, says so once, and gives the same stream each time', () => {
    const input = fakeStdin()
    let touched = 0
    const opened: string[] = []
    const s = new StdinSource(
      () => {
        touched++
        return input
      },
      (what) => opened.push(what),
    )
    expect(touched).toBe(0)
    const a = s.stream('a capture')
    expect(s.stream()).toBe(a)
    expect(touched).toBe(1)
    expect(opened).toEqual(['a capture'])
  })

  it('end() delivers what was read, then a clean end, and stops reading stdin', async () => {
    const input = fakeStdin()
    const s = new StdinSource(() => input)
    const view = s.stream()
    input.write('first ')
    input.write('second')
    const all = readAll(view)
    await new Promise((r) => setImmediate(r))
    s.end()
    expect(await all).toBe('first second')
    expect(input.destroyed).toBe(true)
    s.end() // twice is harmless
  })

  it('end() before any read does nothing (stdin untouched)', () => {
    let touched = 0
    const s = new StdinSource(() => {
      touched++
      return fakeStdin()
    })
    s.end()
    expect(touched).toBe(0)
  })

  it('two sources are independent (no process-wide state)', async () => {
    const i1 = fakeStdin()
    const i2 = fakeStdin()
    const s1 = new StdinSource(() => i1)
    const s2 = new StdinSource(() => i2)
    const v1 = s1.stream()
    const v2 = s2.stream()
    expect(v1).not.toBe(v2)
    i2.end('two')
    s1.end()
    expect(await readAll(v1)).toBe('')
    expect(await readAll(v2)).toBe('two')
    expect(i1.destroyed).toBe(true)
  })
})
