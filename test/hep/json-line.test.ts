// toJsonLine writes JSON text directly for speed: it must be exactly JSON.stringify(toJson(p)).
import { describe, expect, it } from 'vitest'
import { decode, fromJson, toJson, toJsonLine } from '../../src/index.js'
import { readFileSync, readdirSync } from 'node:fs'
import { fixture } from '../helpers/cli.js'

describe('toJsonLine', () => {
  it('equals JSON.stringify(toJson(p)) for every golden packet', () => {
    let n = 0
    for (const f of readdirSync(fixture('hep')).filter((x) => x.endsWith('.hex') && !x.includes('.tcp.'))) {
      for (const h of readFileSync(fixture(`hep/${f}`), 'utf8')
        .trim()
        .split('\n')) {
        const p = decode(Buffer.from(h, 'hex'))
        expect(toJsonLine(p)).toBe(JSON.stringify(toJson(p)))
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
    const v2 = {
      ...fromJson({ version: 2, srcIp: '1.2.3.4', dstIp: '5.6.7.8', payload: 'x' }),
      hdrLen: 2,
      v2Padding: 7,
    }
    expect(toJsonLine(v2)).toBe(JSON.stringify(toJson(v2)))
    expect(JSON.parse(toJsonLine(v2, { via: { transport: 'udp' }, skip: undefined }))).toEqual({
      ...toJson(v2),
      via: { transport: 'udp' },
    })
  })
})
