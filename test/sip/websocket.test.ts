// SIP over WebSocket: the handshake, masked frames, fragmented messages, control frames, text and binary.
import { describe, expect, it } from 'vitest'
import { isSipStart } from '../../src/sip/scan.js'
import {
  HANDSHAKE_INCOMPLETE,
  HANDSHAKE_NOT_WEBSOCKET,
  looksLikeDataFrame,
  WebSocketFramer,
  webSocketHandshake,
  type WebSocketMessage,
} from '../../src/sip/websocket.js'
import { wsFrame } from './ws-build.js'

const REGISTER =
  'REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\nCall-ID: ws1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n'
const OK = 'SIP/2.0 200 OK\r\nCall-ID: ws1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n'
const MASK = [0x37, 0xfa, 0x21, 0x3d]

function run(chunks: Buffer[], f = new WebSocketFramer()): { out: WebSocketMessage[]; f: WebSocketFramer } {
  const out: WebSocketMessage[] = []
  for (const c of chunks) f.push(c, out)
  return { out, f }
}

describe('WebSocket framing', () => {
  it('a masked text frame (client) and an unmasked one (server)', () => {
    const { out } = run([Buffer.concat([wsFrame(1, REGISTER, { mask: MASK }), wsFrame(1, OK)])])
    expect(out.map((m) => [m.payload.toString(), m.binary])).toEqual([
      [REGISTER, false],
      [OK, false],
    ])
  })

  it('a message in continuation frames, with a ping between fragments; binary', () => {
    const b = Buffer.from(REGISTER)
    const stream = Buffer.concat([
      wsFrame(2, b.subarray(0, 30), { fin: false, mask: MASK }),
      wsFrame(0, b.subarray(30, 60), { fin: false, mask: [1, 2, 3, 4] }),
      wsFrame(9, 'ping!', { mask: MASK }),
      wsFrame(0, b.subarray(60), { mask: [9, 8, 7, 6] }),
      wsFrame(10, ''),
    ])
    const { out, f } = run([stream])
    expect(out.map((m) => [m.payload.toString(), m.binary])).toEqual([[REGISTER, true]])
    expect(f.controlFrames).toBe(2)
  })

  it('split at every byte boundary (16-bit and 64-bit lengths too)', () => {
    const long = 'x'.repeat(300)
    const huge = 'y'.repeat(70000)
    const stream = Buffer.concat([
      wsFrame(1, REGISTER, { mask: MASK }),
      wsFrame(1, long, { mask: MASK }),
      wsFrame(1, OK.slice(0, 10), { fin: false }),
      wsFrame(0, OK.slice(10)),
      wsFrame(2, huge),
    ])
    for (const cut of [
      1,
      2,
      3,
      5,
      9,
      50,
      REGISTER.length + 6,
      REGISTER.length + 8,
      REGISTER.length + 12,
      stream.length - 70001,
    ]) {
      const { out } = run([stream.subarray(0, cut), stream.subarray(cut)])
      expect(out.map((m) => m.payload.toString())).toEqual([REGISTER, long, OK, huge])
    }
    const bytes = [...stream.subarray(0, stream.length - 70010)].map((b) => Buffer.from([b]))
    expect(run(bytes).out.map((m) => m.payload.toString())).toEqual([REGISTER, long, OK])
  })

  it('an unmasked single frame within one chunk is a view, not a copy', () => {
    const chunk = wsFrame(1, OK)
    const { out } = run([chunk])
    expect(out[0].payload.buffer).toBe(chunk.buffer)
  })

  it('close ends the direction; frames with RSV bits (compressed) are dropped and counted', () => {
    const { out, f } = run([
      Buffer.concat([
        wsFrame(1, 'deflated', { rsv: 4 }),
        wsFrame(1, OK),
        wsFrame(8, Buffer.from([3, 232])),
        wsFrame(1, OK),
      ]),
    ])
    expect(out.map((m) => m.payload.toString())).toEqual([OK])
    expect(f.unreadable).toBe(1)
    expect(f.closed).toBe(true)
  })

  it('after a hole, frames are taken up again at a chunk that starts with one', () => {
    const f = new WebSocketFramer()
    const out: WebSocketMessage[] = []
    const a = wsFrame(1, REGISTER, { mask: MASK })
    f.push(a.subarray(0, 40), out)
    f.gap()
    f.push(a.subarray(60), out) // the rest of the lost frame: ignored
    f.push(wsFrame(1, OK), out)
    expect(out.map((m) => m.payload.toString())).toEqual([OK])
    expect(f.dropped).toBe(1)
  })

  it('a too-long message is skipped', () => {
    const { out } = run(
      [Buffer.concat([wsFrame(1, 'z'.repeat(2000)), wsFrame(1, OK)])],
      new WebSocketFramer({ maxMessageLength: 1000 }),
    )
    expect(out.map((m) => m.payload.toString())).toEqual([OK])
  })

  it('the handshake: an upgrade request, the 101 answer, and what is not one', () => {
    const req =
      'GET /sip HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n'
    const res =
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n'
    expect(webSocketHandshake(Buffer.from(req + 'rest'))).toBe(req.length)
    expect(webSocketHandshake(Buffer.from(res))).toBe(res.length)
    expect(webSocketHandshake(Buffer.from(req.slice(0, 50)))).toBe(HANDSHAKE_INCOMPLETE)
    expect(webSocketHandshake(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe(HANDSHAKE_NOT_WEBSOCKET)
    expect(webSocketHandshake(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))).toBe(HANDSHAKE_NOT_WEBSOCKET)
  })

  it('looksLikeDataFrame finds a SIP message in a (masked) frame without its handshake', () => {
    expect(looksLikeDataFrame(wsFrame(1, REGISTER, { mask: MASK }), isSipStart)).toBe(true)
    expect(looksLikeDataFrame(wsFrame(2, OK), isSipStart)).toBe(true)
    expect(looksLikeDataFrame(wsFrame(1, 'not sip at all, no'), isSipStart)).toBe(false)
    expect(looksLikeDataFrame(Buffer.from(REGISTER), isSipStart)).toBe(false)
  })
})
