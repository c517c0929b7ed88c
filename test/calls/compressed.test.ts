/** Calls from compressed payloads (chunk 0x0010, as captagent and Asterisk send): read inflated. */
import { describe, expect, it } from 'vitest'
import type { CallSummary } from '../../src/calls/call.js'
import { CallCollector } from '../../src/calls/collect.js'
import { compressPacket } from '../../src/hep/compress.js'
import type { HepPacket } from '../../src/hep/packet.js'
import { sipPacket } from '../net/helpers.js'

const sip = (first: string, cseq: string, t: number): HepPacket =>
  sipPacket(
    `${first}\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: zip-1\r\nCSeq: ${cseq}\r\nContent-Length: 0\r\n\r\n`,
    { timeSeconds: 1_700_000_000 + t, timeUseconds: 0, captureId: 7 },
  )

describe('hep calls on compressed payloads', () => {
  for (const method of ['gzip', 'zlib', 'deflate'] as const) {
    it(`${method}: the call is there, with its messages and final status`, () => {
      const calls: CallSummary[] = []
      const c = new CallCollector({ onCall: (x) => calls.push(x) })
      c.packet(compressPacket(sip('INVITE sip:b@y SIP/2.0', '1 INVITE', 0), method))
      c.packet(compressPacket(sip('SIP/2.0 486 Busy Here', '1 INVITE', 1), method))
      c.end()
      expect(c.skipped).toEqual({})
      expect(calls).toHaveLength(1)
      expect(calls[0]).toMatchObject({ callId: 'zip-1', method: 'INVITE', messages: 2, finalStatus: 486 })
    })
  }
})
