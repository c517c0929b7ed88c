/**
 * Interoperability with npm hep-js 1.0.22 (sipcapture's HEP3 library), run in-process:
 * hep-js decodes our HEP3 encoding of every golden packet, and we decode what hep-js encodes.
 * hep-js limits (peers/README §2.4, §3): IPv4 addresses only (chunks 5/6 ignored), payload as a JS
 * string sized with string.length (non-ASCII payloads truncated by its encoder), HEP3 only.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { decodeDatagram, encode, Hep3Framer, type HepPacket } from '../../src/index.js'
import { HEP_UDP_CAPTURES, loadHexVectors, loadTcpSegments, type HepJsRcinfo } from '../helpers/fixtures.js'

interface HepJsApi {
  decapsulate(buf: Buffer): { rcinfo: HepJsRcinfo; payload?: string } | false | undefined
  encapsulate(payload: string, rcinfo: HepJsRcinfo): Buffer
}

const HEPjs = createRequire(import.meta.url)('hep-js') as HepJsApi

const isAscii = (b: Buffer): boolean => b.every((c) => c < 0x80)

/** every golden packet: all UDP captures (v1, v2, v3) and the TCP stream */
const golden: [string, HepPacket][] = [
  ...HEP_UDP_CAPTURES.flatMap((name) =>
    loadHexVectors(name).map((b, i): [string, HepPacket] => [`${name}#${i + 1}`, decodeDatagram(b)]),
  ),
  ...new Hep3Framer()
    .push(Buffer.concat(loadTcpSegments()))
    .map((b, i): [string, HepPacket] => [`hep-v3-tcp#${i + 1}`, decodeDatagram(b)]),
]

/** the packet as HEP3 in our canonical chunk order, with the v1/v2-only details dropped */
function asV3(p: HepPacket): HepPacket {
  const { chunks: _c, hdrLen: _h, v2Padding: _v, ...rest } = p
  return { ...rest, version: 3 }
}

/** hep-js's chunk order (index.js encapsulate): 1,2,3,4,7,8,9,10,11,12,0x13,[0x0e],[0x11],0x0f */
function hepJsOrder(r: HepJsRcinfo): number[] {
  return [
    1,
    2,
    3,
    4,
    7,
    8,
    9,
    10,
    11,
    12,
    0x13,
    ...(r.capturePass !== undefined ? [0x0e] : []),
    ...(r.correlation_id !== undefined ? [0x11] : []),
    0x0f,
  ]
}

describe('hep-js decodes what we encode', () => {
  it('golden set is complete', () => {
    expect(golden.length).toBe(39 * 4 + 18 + 39 * 4 + 51 + 13 + 18 + 30 + 39)
  })

  it.each(['hep-v1', 'hep-v2', 'hep-v2-sngrep'])('hep-js cannot read %s itself (HEP3 only)', (name) => {
    expect(HEPjs.decapsulate(loadHexVectors(name)[0])).toBe(false)
  })

  it('every golden packet (v1/v2 converted to v3) decodes with hep-js to the same fields', () => {
    let ipv4 = 0
    for (const [name, p] of golden) {
      const bytes = encode(asV3(p))
      const d = HEPjs.decapsulate(bytes)
      expect(d, name).toBeTruthy()
      if (!d) continue
      const r = d.rcinfo
      const want: HepJsRcinfo = {
        protocolFamily: p.protocolFamily,
        protocol: p.protocol,
        srcPort: p.srcPort,
        dstPort: p.dstPort,
        timeSeconds: p.timeSeconds,
        timeUseconds: p.timeUseconds,
        payloadType: p.payloadType,
        captureId: p.captureId,
        capturePass: p.authKey,
        correlation_id: p.correlationId,
        hepNodeName: p.nodeName,
      }
      if (p.protocolFamily === 2) {
        want.srcIp = p.srcIp
        want.dstIp = p.dstIp
        ipv4++
      }
      // what hep-js returns, no more and no less (it has no key for an absent chunk)
      const defined = Object.fromEntries(Object.entries(want).filter(([, v]) => v !== undefined))
      expect(r, name).toEqual(defined)
      expect(d.payload, name).toBe(p.payload!.toString('utf8'))
    }
    expect(ipv4).toBeGreaterThan(300)
  })
})

describe('we decode what hep-js encodes', () => {
  const ipv4Ascii = golden.filter(([, p]) => p.protocolFamily === 2 && isAscii(p.payload!))

  it('every IPv4 golden packet with an ASCII payload, re-encoded by hep-js, decodes to the same fields', () => {
    expect(ipv4Ascii.length).toBeGreaterThan(300)
    for (const [name, p] of ipv4Ascii) {
      const rcinfo: HepJsRcinfo = {
        protocolFamily: p.protocolFamily,
        protocol: p.protocol,
        srcIp: p.srcIp,
        dstIp: p.dstIp,
        srcPort: p.srcPort,
        dstPort: p.dstPort,
        timeSeconds: p.timeSeconds ?? 0,
        timeUseconds: p.timeUseconds ?? 0,
        payloadType: p.payloadType,
        captureId: p.captureId ?? 0,
        ...(p.authKey !== undefined ? { capturePass: p.authKey } : {}),
        ...(p.correlationId !== undefined ? { correlation_id: p.correlationId } : {}),
      }
      const payload = p.payload!.toString('latin1')
      const bytes = HEPjs.encapsulate(payload, rcinfo)
      const q = decodeDatagram(bytes)
      expect(q, name).toMatchObject({
        version: 3,
        protocolFamily: rcinfo.protocolFamily,
        protocol: rcinfo.protocol,
        srcIp: rcinfo.srcIp,
        dstIp: rcinfo.dstIp,
        srcPort: rcinfo.srcPort,
        dstPort: rcinfo.dstPort,
        timeSeconds: rcinfo.timeSeconds,
        timeUseconds: rcinfo.timeUseconds,
        payloadType: rcinfo.payloadType,
        captureId: rcinfo.captureId,
        // hep-js always sends a node name chunk, the capture id as text by default
        nodeName: String(rcinfo.captureId),
        chunks: hepJsOrder(rcinfo),
      })
      expect(q.authKey, name).toBe(rcinfo.capturePass)
      expect(q.correlationId, name).toBe(rcinfo.correlation_id)
      expect(q.payload!.toString('latin1'), name).toBe(payload)
      // and we write the same bytes as hep-js when given its chunk order
      expect(encode(q).toString('hex'), name).toBe(bytes.toString('hex'))
      const ours = encode({ ...asV3(p), ...q, payload: p.payload, chunks: hepJsOrder(rcinfo) })
      expect(ours.toString('hex'), name).toBe(bytes.toString('hex'))
    }
  })

  it("hepjs-tool.js encode-one's fixed vector", () => {
    const sip =
      'OPTIONS sip:probe@127.0.0.1:5060 SIP/2.0\r\n' +
      'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-hepjs-1\r\n' +
      'From: <sip:hepjs@127.0.0.1>;tag=1\r\nTo: <sip:probe@127.0.0.1>\r\n' +
      'Call-ID: hepjs-vector-1@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n'
    const rcinfo: HepJsRcinfo = {
      protocolFamily: 2,
      protocol: 17,
      srcIp: '127.0.0.1',
      dstIp: '127.0.0.2',
      srcPort: 5070,
      dstPort: 5060,
      timeSeconds: 1700000000,
      timeUseconds: 123456,
      payloadType: 1,
      captureId: 2001,
      capturePass: 'myHep',
    }
    const bytes = HEPjs.encapsulate(sip, rcinfo)
    const q = decodeDatagram(bytes)
    const { capturePass, ...common } = rcinfo
    expect(q).toMatchObject({ ...common, authKey: capturePass, nodeName: '2001' })
    expect(q.payload!.toString()).toBe(sip)
    expect(encode(q).equals(bytes)).toBe(true)
  })

  it('hep-js truncates a non-ASCII payload (string.length, not bytes); we encode all of it', () => {
    const sip = 'MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 12\r\n\r\nhéllo wörld€'
    const rcinfo: HepJsRcinfo = {
      protocolFamily: 2,
      protocol: 17,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      srcPort: 1,
      dstPort: 2,
      timeSeconds: 1,
      timeUseconds: 2,
      payloadType: 1,
      captureId: 3,
    }
    const q = decodeDatagram(HEPjs.encapsulate(sip, rcinfo))
    expect(q.payload!.length).toBe(sip.length)
    expect(q.payload!.length).toBeLessThan(Buffer.byteLength(sip))
    expect(Buffer.from(sip).subarray(0, sip.length).equals(q.payload!)).toBe(true)
    // ours carries every byte, and hep-js's decoder reads it back whole
    const d = HEPjs.decapsulate(encode({ ...q, chunks: undefined, payload: Buffer.from(sip) }))
    expect(d && d.payload).toBe(sip)
  })

  it("the two MESSAGEs hep-js truncated in hep-v3-hepjs are what its encoder makes of sip-misc-methods' bodies", () => {
    const truncated = loadHexVectors('hep-v3-hepjs')
      .map((b) => decodeDatagram(b))
      .filter((p) => !isAscii(p.payload!))
    expect(truncated.length).toBe(2)
    for (const p of truncated) {
      const text = p.payload!.toString('utf8')
      expect(text.startsWith('MESSAGE ')).toBe(true)
      // the Content-Length header announces more body than the payload carries
      const cl = Number(/^(?:Content-Length|l)\s*:\s*(\d+)/im.exec(text)![1])
      const body = p.payload!.subarray(p.payload!.indexOf('\r\n\r\n') + 4)
      expect(body.length).toBeLessThan(cl)
    }
  })
})
