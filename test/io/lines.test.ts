// lineBatches replaces readline for hex and JSON-lines input: same line breaks, whatever the chunking.
import { Readable } from 'node:stream'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { lineBatches } from '../../src/io/hep-source.js'

async function ours(chunks: Buffer[]): Promise<string[]> {
  const out: string[] = []
  for await (const b of lineBatches(Readable.from(chunks))) out.push(...b)
  return out
}

async function readline(text: Buffer): Promise<string[]> {
  const out: string[] = []
  for await (const l of createInterface({ input: Readable.from([text]), crlfDelay: Infinity })) out.push(l)
  return out
}

/** `text` cut into pieces at the given byte offsets */
const cut = (text: Buffer, at: number[]) =>
  [0, ...at, text.length].slice(1).map((end, i, ends) => text.subarray(i === 0 ? 0 : ends[i - 1], end))

describe('lineBatches', () => {
  const text = Buffer.from('a\nbé\r\n\r\nc\rd\n€ x\r\n\nlast', 'utf8')

  it('gives the lines readline gives (\\n, \\r\\n, a lone \\r, no newline at the end)', async () => {
    expect(await ours([text])).toEqual(await readline(text))
    expect(await ours([text])).toEqual(['a', 'bé', '', 'c', 'd', '€ x', '', 'last'])
  })

  it('the same lines at every split point, inside a CRLF or a UTF-8 character too', async () => {
    const want = await readline(text)
    for (let i = 1; i < text.length; i++) {
      expect(await ours(cut(text, [i]))).toEqual(want)
      expect(await ours(cut(text, [i, Math.min(i + 1, text.length - 1)]))).toEqual(want)
    }
    // one byte per read
    expect(await ours([...text].map((b) => Buffer.from([b])))).toEqual(want)
  })

  it('a long line over many reads comes whole', async () => {
    const long = 'x'.repeat(1 << 20)
    const text = Buffer.from(`a\n${long}\r\nb`)
    const pieces = Array.from({ length: Math.ceil(text.length / 512) }, (_, i) =>
      text.subarray(i * 512, (i + 1) * 512),
    )
    expect(await ours(pieces)).toEqual(['a', long, 'b'])
  })

  it('one array per read, and a final newline adds no empty line', async () => {
    const batches: string[][] = []
    for await (const b of lineBatches(Readable.from([Buffer.from('1\n2\n3'), Buffer.from('4\n5\n')])))
      batches.push(b)
    expect(batches).toEqual([
      ['1', '2'],
      ['34', '5'],
    ])
  })
})
