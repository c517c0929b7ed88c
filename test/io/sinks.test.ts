// The output writer puts everything into shared chunks handed on as views: whatever the chunk
// size and however the writes interleave, the stream must get exactly the bytes written, in order.
import fc from 'fast-check'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { toJsonLine } from '../../src/hep/json.js'
import type { HepPacket } from '../../src/hep/packet.js'
import { OutputWriter } from '../../src/output/writer.js'

function collector(): { stream: Writable; got: () => Buffer } {
  const parts: Buffer[] = []
  const stream = new Writable({
    highWaterMark: 8,
    write(chunk: Buffer, _e, done) {
      parts.push(Buffer.from(chunk)) // a copy: a view rewritten later would show here
      setImmediate(done) // slow: writes stay pending while more is written
    },
  })
  return { stream, got: () => Buffer.concat(parts) }
}

const packet = (payload: Buffer): HepPacket => ({
  version: 3,
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
  srcPort: 5060,
  dstPort: 5061,
  payloadType: 1,
  payload,
})

type Op = { kind: 'text'; s: string } | { kind: 'bytes' | 'hex' | 'json'; b: Buffer }
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => ({ kind: 'text' as const, s })),
  ...(['bytes', 'hex', 'json'] as const).map((kind) =>
    fc.uint8Array({ maxLength: 60 }).map((a) => ({ kind, b: Buffer.from(a) })),
  ),
)

function expected(ops: Op[]): Buffer {
  return Buffer.concat(
    ops.map((o) =>
      o.kind === 'text'
        ? Buffer.from(o.s)
        : o.kind === 'bytes'
          ? o.b
          : o.kind === 'hex'
            ? Buffer.from(o.b.toString('hex') + '\n')
            : Buffer.from(toJsonLine(packet(o.b)) + '\n'),
    ),
  )
}

describe('OutputWriter', () => {
  it('writes every byte in order, with small chunks, a low high-water mark and a slow stream', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), fc.constantFrom(1, 5, 64), async (ops, chunk) => {
        const c = collector()
        const sink = new OutputWriter(c.stream, { flushAt: 7, chunkSize: chunk })
        for (const o of ops) {
          // a scratch buffer, as the encoder hands out: overwritten right after the call
          const scratch = o.kind === 'text' ? undefined : Buffer.from(o.b)
          if (o.kind === 'text') sink.write(o.s)
          else if (o.kind === 'bytes') sink.write(scratch!)
          else if (o.kind === 'hex') sink.hexLine(scratch!)
          else sink.json(packet(scratch!))
          scratch?.fill(0x41)
          await sink.maybeFlush()
        }
        await sink.close()
        await new Promise((r) => setImmediate(r))
        expect(c.got().equals(expected(ops))).toBe(true)
      }),
      { numRuns: 300 },
    )
  })
})
