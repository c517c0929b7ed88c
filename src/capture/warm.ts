/**
 * Warming the live path before the first real packet: a few synthetic SIP messages (Ethernet, IPv4,
 * UDP), one record per chunk as an engine's pipe delivers them, through throwaway instances of the
 * capture pipeline (reader, extractor, items) and of the encoder with the same options. V8 compiles
 * a function the first time it is called and optimises it after many calls: without this, the first
 * packets of a live capture (`hep capture`, `hep replay -` fed by tcpdump) met cold code and left
 * 5-40 ms late, and at 1,000 calls/s the backlog behind them took a few hundred ms to clear
 * (bench/live.js). Nothing is sent and no count of the real capture changes.
 */
import { Readable } from 'node:stream'
import type { HepEncodingOptions } from '../hep/encoding-options.js'
import { ItemEncoder } from '../item/encode.js'
import { FrameBuilder } from '../pcap/synth.js'
import type { RtcpMode } from '../rtcp/correlate.js'
import { CaptureItems } from './items.js'

export interface WarmOptions extends HepEncodingOptions {
  /** the container the engine writes: pcap (tcpdump) or pcapng (dumpcap) */
  format: 'pcap' | 'pcapng'
  /** as the real capture: the SIP scan (Call-ID...) on or off, RTCP looked for */
  sipDetails: boolean
  rtcp?: RtcpMode
  /** synthetic messages to run through (default 300: every function of the path compiled, the hottest optimised) */
  messages?: number
}

const SIP = [
  'INVITE sip:bob@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-warm-{n}\r\n' +
    'From: <sip:alice@192.0.2.1>;tag=w{n}\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: warm-{n}@192.0.2.1\r\n' +
    'CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1:5060>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n' +
    'Content-Length: 129\r\n\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n' +
    'm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n',
  'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-warm-{n}\r\nFrom: <sip:alice@192.0.2.1>;tag=w{n}\r\n' +
    'To: <sip:bob@192.0.2.2>;tag=b{n}\r\nCall-ID: warm-{n}@192.0.2.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
  'BYE sip:bob@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-warmbye-{n}\r\n' +
    'From: <sip:alice@192.0.2.1>;tag=w{n}\r\nTo: <sip:bob@192.0.2.2>;tag=b{n}\r\nCall-ID: warm-{n}@192.0.2.1\r\n' +
    'CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n',
]

/** The synthetic capture, one Buffer per record (the file header first, alone). */
export function warmCapture(format: 'pcap' | 'pcapng', messages: number): Buffer[] {
  const frames = new FrameBuilder()
  const chunks: Buffer[] = []
  if (format === 'pcap') {
    const h = Buffer.alloc(24)
    h.writeUInt32LE(0xa1b2c3d4, 0)
    h.writeUInt16LE(2, 4)
    h.writeUInt16LE(4, 6)
    h.writeUInt32LE(65600, 16)
    h.writeUInt32LE(1, 20) // Ethernet
    chunks.push(h)
  } else {
    const shb = Buffer.alloc(28)
    shb.writeUInt32LE(0x0a0d0d0a, 0)
    shb.writeUInt32LE(28, 4)
    shb.writeUInt32LE(0x1a2b3c4d, 8)
    shb.writeUInt16LE(1, 12)
    shb.writeBigInt64LE(-1n, 16)
    shb.writeUInt32LE(28, 24)
    const idb = Buffer.alloc(20)
    idb.writeUInt32LE(1, 0)
    idb.writeUInt32LE(20, 4)
    idb.writeUInt16LE(1, 8) // Ethernet
    idb.writeUInt32LE(65600, 12)
    idb.writeUInt32LE(20, 16)
    chunks.push(Buffer.concat([shb, idb]))
  }
  const t0 = Math.floor(Date.now() / 1000)
  for (let i = 0; i < messages; i++) {
    const k = i % SIP.length
    const text = SIP[k].replaceAll('{n}', String(Math.floor(i / SIP.length)))
    const request = k !== 1
    const frame = frames.build({
      src: request ? '192.0.2.1' : '192.0.2.2',
      dst: request ? '192.0.2.2' : '192.0.2.1',
      srcPort: 5060,
      dstPort: 5060,
      payload: Buffer.from(text, 'latin1'),
    })
    const usec = (i * 1000) % 1_000_000
    const sec = t0 + Math.floor((i * 1000) / 1_000_000)
    if (format === 'pcap') {
      const r = Buffer.alloc(16 + frame.length)
      r.writeUInt32LE(sec, 0)
      r.writeUInt32LE(usec, 4)
      r.writeUInt32LE(frame.length, 8)
      r.writeUInt32LE(frame.length, 12)
      frame.copy(r, 16)
      chunks.push(r)
    } else {
      const pad = (4 - (frame.length % 4)) % 4
      const len = 32 + frame.length + pad
      const r = Buffer.alloc(len)
      r.writeUInt32LE(6, 0)
      r.writeUInt32LE(len, 4)
      const ts = BigInt(sec) * 1_000_000n + BigInt(usec)
      r.writeUInt32LE(Number(ts >> 32n), 12)
      r.writeUInt32LE(Number(ts & 0xffffffffn), 16)
      r.writeUInt32LE(frame.length, 20)
      r.writeUInt32LE(frame.length, 24)
      frame.copy(r, 28)
      r.writeUInt32LE(len, len - 4)
      chunks.push(r)
    }
  }
  return chunks
}

/**
 * Runs the synthetic capture through throwaway pipeline and encoder instances; resolves once done.
 * Never throws: warming is an optimisation, a failure of it is no failure of the capture.
 */
export async function warmUp(o: WarmOptions): Promise<void> {
  try {
    const chunks = warmCapture(o.format, o.messages ?? 300)
    const items = new CaptureItems(Readable.from(chunks, { objectMode: false }), 'warm-up', {
      mode: 'sip',
      captureId: o.captureId ?? 1,
      rtcp: o.rtcp,
      extract: { sipDetails: o.sipDetails },
    })
    // the encoding options only: no callback of the real capture (onLoss, onSkip) hears of these
    const enc = new ItemEncoder({
      version: o.version,
      captureId: o.captureId,
      nodeName: o.nodeName,
      authKey: o.authKey,
      correlationId: o.correlationId,
      compress: o.compress,
    })
    for await (const batch of items.batches()) for (const it of batch) if (enc.readable(it)) enc.encode(it)
  } catch {
    // not warmed: the first packets are slower, nothing else
  }
}
