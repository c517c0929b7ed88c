// toJsonLine writes JSON text directly for speed: it must be exactly JSON.stringify(toJson(p)).
import { describe, expect, it } from 'vitest'
import { decode, fromJson, toJson, toJsonLine } from '../../src/index.js'
import { readFileSync, readdirSync } from 'node:fs'
import { Writable } from 'node:stream'
import { OutputWriter } from '../../src/output/writer.js'
import { fixture } from '../helpers/cli.js'

/** The bytes OutputWriter.packet writes for p (the hot path of listen/decode --json). */
function written(p: Parameters<typeof toJsonLine>[0], suffix?: string): string {
  const parts: Buffer[] = []
  const w = new OutputWriter(
    new Writable({
      write(chunk: Buffer, _e, done) {
        parts.push(Buffer.from(chunk))
        done()
      },
    }),
  )
  w.packet(p, suffix === undefined ? undefined : Buffer.from(suffix))
  w.flush()
  return Buffer.concat(parts).toString('utf8')
}

describe('toJsonLine', () => {
  it('equals JSON.stringify(toJson(p)) for every golden packet', () => {
    let n = 0
    for (const f of readdirSync(fixture('hep')).filter((x) => x.endsWith('.hex') && !x.includes('.tcp.'))) {
      for (const h of readFileSync(fixture(`hep/${f}`), 'utf8')
        .trim()
        .split('\n')) {
        const p = decode(Buffer.from(h, 'hex'))
        expect(toJsonLine(p)).toBe(JSON.stringify(toJson(p)))
        expect(written(p)).toBe(JSON.stringify(toJson(p)) + '\n')
        n++
      }
    }
    expect(n).toBeGreaterThan(400)
  })

  it('handles binary payloads, raw chunks, v1/v2 quirks, odd text and extra keys', () => {
    const p = fromJson({
      version: 3,
      srcIp: '::1',
      dstIp: '::1',
      nodeName: 'a "quoted" \\ name\n',
      payload: Buffer.from([0, 255, 1]).toString('base64'),
      payloadEncoding: 'base64',
      compressedPayload: 'AAEC',
      chunks: [3, 4, { vendor: 2, type: 32, hex: '0a0b' }, 15],
    })
    expect(JSON.parse(toJsonLine(p))).toEqual(JSON.parse(JSON.stringify(toJson(p))))
    expect(toJsonLine(p)).toBe(JSON.stringify(toJson(p)))
    expect(written(p, ',"via":{"transport":"ws"}')).toBe(
      toJsonLine(p, undefined, ',"via":{"transport":"ws"}') + '\n',
    )
    const v2 = {
      ...fromJson({ version: 2, srcIp: '1.2.3.4', dstIp: '5.6.7.8', payload: 'x' }),
      hdrLen: 2,
      v2Padding: 7,
    }
    expect(toJsonLine(v2)).toBe(JSON.stringify(toJson(v2)))
    expect(written(v2)).toBe(JSON.stringify(toJson(v2)) + '\n')
    expect(JSON.parse(toJsonLine(v2, { via: { transport: 'udp' }, skip: undefined }))).toEqual({
      ...toJson(v2),
      via: { transport: 'udp' },
    })
  })
})
