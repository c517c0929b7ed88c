// The stream handlers behind CaptureStreams: the detector hands a direction over to one handler per
// protocol, and a HEP stream's garbage is one error however the segments cut it.
import { describe, expect, it } from 'vitest'
import type { CapturedMessage, ExtractStats } from '../../src/capture/message.js'
import type { Stamp } from '../../src/capture/stamp.js'
import { CaptureStreams } from '../../src/capture/streams.js'
import { CaptureStreamFactory } from '../../src/capture/tcp/factory.js'
import type { StreamSink } from '../../src/capture/tcp/handler.js'
import type { TransportResult } from '../../src/pcap/result.js'

const stats = (): ExtractStats => ({ records: 0, sip: 0, hep: 0, skipped: {}, fragmentsReassembled: 0 })

function hep(n: number): Buffer {
  const b = Buffer.alloc(n, 0x41)
  b.write('HEP3', 0, 'latin1')
  b.writeUInt16BE(n, 4)
  return b
}

function seg(seq: number, payload: Buffer, flags = 0x18): TransportResult {
  return {
    kind: 'tcp',
    ipVersion: 4,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    srcPort: 5070,
    dstPort: 9060,
    payload,
    tcp: { seq, ack: 0, flags, window: 1 },
  }
}

/** a sink that records what handlers send it */
function recorder() {
  const msgs: { kind: string; frame: number; payload: string }[] = []
  const skipped: string[] = []
  const sink: StreamSink = {
    counts: {
      sipStreams: 0,
      hepStreams: 0,
      webSocketStreams: 0,
      otherStreams: 0,
      keepAlives: 0,
      resyncBytes: 0,
      incomplete: 0,
      tooLong: 0,
      webSocketControlFrames: 0,
      webSocketUnreadable: 0,
      webSocketErrors: 0,
    },
    message: (_t, _from, stamp, kind, payload) =>
      msgs.push({ kind, frame: stamp.frame, payload: payload.toString('latin1') }),
    skip: (reason) => skipped.push(reason),
  }
  return { sink, msgs, skipped }
}

const from = { ipVersion: 4 as const, src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2 }
const at = (frame: number): Stamp => ({ frame, seconds: 1, nanos: 0, vlan: undefined })

describe('stream handlers', () => {
  it('the detector waits for a first line, then hands the direction to the SIP handler', () => {
    const { sink, msgs } = recorder()
    const h = new CaptureStreamFactory(sink).stream(from, false)
    const m = 'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n'
    h.push(Buffer.from(m.slice(0, 5)), at(1))
    expect(h.buffered).toBe(5)
    expect(sink.counts.sipStreams).toBe(0)
    h.push(Buffer.from(m.slice(5)), at(2))
    expect(msgs).toEqual([{ kind: 'sip', frame: 2, payload: m }])
    expect(sink.counts.sipStreams).toBe(1)
    expect(h.buffered).toBe(0)
  })

  it('a WebSocket handshake that is not an upgrade makes an ignored direction, counted per segment', () => {
    const { sink, msgs, skipped } = recorder()
    const h = new CaptureStreamFactory(sink).stream(from, false)
    h.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), at(1))
    h.push(Buffer.from('more'), at(2))
    expect(msgs).toEqual([])
    expect(skipped).toEqual(['TCP stream not SIP/HEP', 'TCP stream not SIP/HEP'])
    expect(sink.counts.otherStreams).toBe(1)
  })

  it('garbage in a HEP stream cut after a "H" is one error, not two', () => {
    const s = stats()
    const streams = new CaptureStreams('both', s)
    const out: CapturedMessage[] = []
    streams.out = out
    const parts = [hep(20), Buffer.from('??H'), Buffer.concat([Buffer.from('ZZZ'), hep(30)])]
    let seq = 100
    streams.tcpSegment(seg(seq++, Buffer.alloc(0), 0x02), 1, 1, 0)
    parts.forEach((p, i) => {
      streams.tcpSegment(seg(seq, p), i + 2, 1, 0)
      seq += p.length
    })
    streams.flush()
    expect(out.map((m) => [m.kind, m.frame, m.payload.length])).toEqual([
      ['hep', 2, 20],
      ['hep', 4, 30],
    ])
    expect(s.skipped).toEqual({ 'bad data in a HEP stream': 1 })
    expect(streams.counts.resyncBytes).toBe(6)
  })
})
