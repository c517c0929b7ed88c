// A failure inside our own decoding is our bug: the server reports it as an InternalError on 'error',
// never as the sender's malformed packet (it used to be dressed up as HEP_TRUNCATED).
import { createSocket } from 'node:dgram'
import { describe, expect, it, vi } from 'vitest'
import { InternalError } from '../../src/errors.js'

vi.mock('../../src/hep/codec.js', async (orig) => {
  const real = await orig<typeof import('../../src/hep/codec.js')>()
  return {
    ...real,
    decodeDatagram: (
      buf: Buffer,
      ...rest: Parameters<typeof real.decodeDatagram> extends [Buffer, ...infer R] ? R : never
    ) => {
      if (buf.toString('latin1') === 'BUG!') throw new TypeError('undefined is not a function')
      return real.decodeDatagram(buf, ...rest)
    },
  }
})

const { HepServer } = await import('../../src/net/server.js')

describe('HepServer and its own bugs', () => {
  it('a non-HEP error from decoding is an InternalError on error, not a malformed packet', async () => {
    const server = new HepServer()
    const errors: Error[] = []
    const malformed: unknown[] = []
    server.on('error', (e) => errors.push(e))
    server.on('malformed', (e) => malformed.push(e))
    const l = await server.listen({ transport: 'udp', address: '127.0.0.1:0' })
    const s = createSocket('udp4')
    await new Promise<void>((r) => s.send(Buffer.from('BUG!'), l.local.port, '127.0.0.1', () => r()))
    for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
    s.close()
    await server.close()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(InternalError)
    expect(errors[0].message).toMatch(/undefined is not a function/)
    expect(malformed).toHaveLength(0)
    expect(server.stats().total.malformed).toBe(0)
  })
})
