// lineBatches replaces readline for hex and JSON-lines input: same line breaks, whatever the chunking.
import { Readable } from 'node:stream'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { hexBatches, jsonlBatches, lineBatches, OverlongLine } from '../../src/input/hep-source.js'

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

// issue #10, finding 12: a line over the bound is reported, and its bytes are not kept
describe('lineBatches with a bound', () => {
  async function bounded(chunks: Buffer[], max: number): Promise<(string | number)[]> {
    const out: (string | number)[] = []
    for await (const b of lineBatches(Readable.from(chunks), max))
      for (const l of b) out.push(l instanceof OverlongLine ? l.bytes : l)
    return out
  }
  const text = Buffer.from('ab\n' + 'x'.repeat(20) + '\r\nabcdefghij\n' + 'y'.repeat(11) + '\nlast-long-line')

  it('a line over the bound comes as its length in bytes, the others as text, at every split point', async () => {
    const want = ['ab', 21, 'abcdefghij', 11, 14]
    expect(await bounded([text], 10)).toEqual(want)
    for (let i = 1; i < text.length; i++) expect(await bounded(cut(text, [i]), 10)).toEqual(want)
    expect(
      await bounded(
        [...text].map((b) => Buffer.from([b])),
        10,
      ),
    ).toEqual(want)
    // exactly the bound is not over it
    expect(await bounded([Buffer.from('abcdefghij\nk')], 10)).toEqual(['abcdefghij', 'k'])
  })

  it('drops the bytes of an over-long line as they come: 64 MiB in one line never reach a string', async () => {
    const piece = Buffer.alloc(1 << 20, 0x78) // one buffer handed out again and again
    async function* source() {
      yield Buffer.from('first\n')
      for (let i = 0; i < 64; i++) yield piece
      yield Buffer.from('\nafter\n')
    }
    const got: (string | number)[] = []
    for await (const b of lineBatches(Readable.from(source()), 1 << 20))
      for (const l of b) {
        if (typeof l === 'string') expect(l.length).toBeLessThan(1 << 20)
        got.push(l instanceof OverlongLine ? l.bytes : l)
      }
    expect(got).toEqual(['first', 64 << 20, 'after'])
  })

  it('hex and JSON lines over their bounds are errors with their line numbers; the rest decode', async () => {
    const good = '0100' // not a packet: only the positions matter here
    const hex = Buffer.from(`# comment\n${'ab'.repeat(70 * 1024)}\n${good}\n`)
    const items = []
    for await (const b of hexBatches(Readable.from([hex]), 'x.hex')) items.push(...b)
    expect(items.map((i) => i.where)).toEqual(['x.hex line 2', 'x.hex line 3'])
    expect(items[0].error?.message).toBe(
      'a hex line of 143360 bytes, over the 131072-byte bound (a HEP packet is at most 65535 bytes): skipped',
    )
    const json = Buffer.from(
      `{"payload":"${'z'.repeat(1100 * 1024)}"}\n{"version":3,"srcIp":"1.1.1.1","dstIp":"1.1.1.2","payload":"ok"}\n`,
    )
    const jitems = []
    for await (const b of jsonlBatches(Readable.from([json]), 'x.jsonl')) jitems.push(...b)
    expect(jitems.map((i) => i.where)).toEqual(['x.jsonl line 1', 'x.jsonl line 2'])
    expect(jitems[0].error?.code).toBe('HEP_TOO_LONG')
    expect(jitems[0].error?.message).toMatch(/^a JSON line of \d+ bytes, over the 1048576-byte bound/)
    expect(jitems[1].packet?.payload?.toString()).toBe('ok')
  })
})
