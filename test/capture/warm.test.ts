/**
 * The warm-up of the live path (src/capture/warm.ts): its synthetic capture must be read by the real
 * pipeline as the SIP messages it holds (a capture the reader refused would warm nothing, silently:
 * warmUp never throws), in both containers the engines write, and warming tells the real capture's
 * callbacks nothing.
 */
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { CaptureItems } from '../../src/capture/items.js'
import { warmCapture, warmUp } from '../../src/capture/warm.js'
import { ItemEncoder } from '../../src/item/encode.js'

describe('warm-up of the live path', () => {
  for (const format of ['pcap', 'pcapng'] as const) {
    it(`${format}: one chunk per record, every one a SIP message that encodes`, async () => {
      const chunks = warmCapture(format, 30)
      expect(chunks).toHaveLength(31) // the file header, then one chunk per record
      const items = new CaptureItems(Readable.from(chunks, { objectMode: false }), 'w', {
        mode: 'sip',
        extract: { sipDetails: true },
      })
      const enc = new ItemEncoder({ version: 3 })
      const methods: string[] = []
      for await (const it of items) {
        expect(enc.next(it)).toBe(true)
        methods.push(it.sip?.method ?? String(it.sip?.statusCode))
      }
      expect(methods).toHaveLength(30)
      expect(methods.slice(0, 3)).toEqual(['INVITE', '200', 'BYE'])
      expect(items.stats.skipped).toEqual({})
    })
  }

  it('tells no callback of the capture it warms for (onLoss, onSkip) and never throws', async () => {
    const told: string[] = []
    await warmUp({
      format: 'pcap',
      sipDetails: true,
      version: 1, // v1 loses the capture id: a real capture is told once per kind
      captureId: 7,
      onLoss: () => told.push('loss'),
      messages: 12,
    })
    expect(told).toEqual([])
    // options no encoder accepts: warming is skipped, not thrown
    await expect(warmUp({ format: 'pcap', sipDetails: false, version: 2, compress: 'gzip' })).resolves.toBe(
      undefined,
    )
  })
})
