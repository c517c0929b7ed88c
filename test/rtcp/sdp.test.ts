/**
 * RTCP endpoints from SDP: the scan against hand-written cases (session and media c=, a=rtcp with
 * and without an address, a=rtcp-mux, IPv6, disabled and non-RTP media, multipart bodies), and
 * against sdp-transform's parse of generated SDPs (the oracle: what a full SDP grammar reads).
 */
import { parse } from 'sdp-transform'
import { describe, expect, it } from 'vitest'
import { messageEndpoints, sdpBodies, sdpEndpoints, type MediaEndpoint } from '../../src/rtcp/sdp.js'
import { scanSip } from '../../src/sip/scan.js'
import { INVITE, OK, sdp, sipMessage } from '../helpers/rtcp.js'
import { rng } from '../helpers/rng.js'

const of = (msg: Buffer) => {
  const info = scanSip(msg)
  if (info === undefined) throw new Error('not SIP')
  return messageEndpoints(msg, info.headerLength, info.contentLength)
}

describe('sdpEndpoints', () => {
  it('RTP port + 1 on the session-level address', () => {
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 4000 }]))).toEqual([
      { ip: '10.0.0.1', port: 4001, mux: false },
    ])
  })
  it('a media-level c= over the session one, per media', () => {
    const s = sdp('10.0.0.1', [
      { port: 4000, ip: '10.0.0.9' },
      { port: 4010, media: 'video' },
    ])
    expect(sdpEndpoints(s)).toEqual([
      { ip: '10.0.0.9', port: 4001, mux: false },
      { ip: '10.0.0.1', port: 4011, mux: false },
    ])
  })
  it('a=rtcp: port, and port with its own address', () => {
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 4000, rtcp: '4100' }]))).toEqual([
      { ip: '10.0.0.1', port: 4100, mux: false },
    ])
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 4000, rtcp: '4100 IN IP4 192.0.2.7' }]))).toEqual([
      { ip: '192.0.2.7', port: 4100, mux: false },
    ])
  })
  it('a=rtcp-mux: the RTP port too (and port + 1, in case the answer does not mux)', () => {
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 4000, mux: true }]))).toEqual([
      { ip: '10.0.0.1', port: 4001, mux: false },
      { ip: '10.0.0.1', port: 4000, mux: true },
    ])
    // a=rtcp naming the RTP port itself (RFC 5761 offers): one endpoint
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 4000, mux: true, rtcp: '4000' }]))).toEqual([
      { ip: '10.0.0.1', port: 4000, mux: false },
    ])
  })
  it('IPv6, written as the capture decoder writes addresses', () => {
    expect(sdpEndpoints(sdp('2001:DB8:0:0::0:1', [{ port: 4000 }]))).toEqual([
      { ip: '2001:db8::1', port: 4001, mux: false },
    ])
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 4000, rtcp: '4001 IN IP6 fe80::0001' }]))).toEqual([
      { ip: 'fe80::1', port: 4001, mux: false },
    ])
  })
  it('nothing for port 0, non-RTP media (T.38 over UDPTL), hold (0.0.0.0) or a host name', () => {
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 0 }]))).toEqual([])
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 4000, proto: 'udptl', media: 'image' }]))).toEqual([])
    expect(sdpEndpoints(sdp('0.0.0.0', [{ port: 4000 }]))).toEqual([])
    expect(sdpEndpoints(sdp('pbx.example.com', [{ port: 4000 }]))).toEqual([])
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 4000, proto: 'RTP/SAVPF' }]))).toHaveLength(1)
  })
  it('reads LF-only SDP', () => {
    expect(sdpEndpoints(sdp('10.0.0.1', [{ port: 4000 }]).replace(/\r\n/g, '\n'))).toEqual([
      { ip: '10.0.0.1', port: 4001, mux: false },
    ])
  })

  // the oracle: endpoints computed from sdp-transform's parse
  function oracle(text: string): MediaEndpoint[] {
    const s = parse(text)
    const out: MediaEndpoint[] = []
    const norm = (ip: string | undefined) =>
      ip === undefined || ip === '0.0.0.0' ? undefined : ip.toLowerCase()
    for (const m of s.media) {
      if (m.port === 0 || !/RTP\//i.test(m.protocol)) continue
      const ip = norm(m.connection?.ip ?? s.connection?.ip)
      const rp = m.rtcp?.port ?? m.port + 1
      const rip = norm(m.rtcp?.address) ?? ip
      if (rip !== undefined) out.push({ ip: rip, port: rp, mux: false })
      if (m.rtcpMux !== undefined && ip !== undefined && !(rip === ip && rp === m.port))
        out.push({ ip, port: m.port, mux: true })
    }
    return out
  }

  it('finds what sdp-transform finds, on 300 generated SDPs', () => {
    const next = rng(12)
    const r = { int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) }
    const ip = () => `10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`
    for (let n = 0; n < 300; n++) {
      const media = Array.from({ length: r.int(1, 3) }, () => ({
        port: r.int(0, 4) === 0 ? 0 : r.int(1024, 65000),
        ip: r.int(0, 2) === 0 ? ip() : undefined,
        rtcp:
          r.int(0, 2) === 0 ? String(r.int(1024, 65000)) + (r.int(0, 1) ? ` IN IP4 ${ip()}` : '') : undefined,
        mux: r.int(0, 2) === 0,
        proto: ['RTP/AVP', 'RTP/SAVP', 'UDP/TLS/RTP/SAVPF', 'udptl'][r.int(0, 3)],
      }))
      const text = sdp(r.int(0, 4) === 0 ? undefined : ip(), media)
      expect(sdpEndpoints(text), text).toEqual(oracle(text))
    }
  })
})

describe('SDP in SIP bodies', () => {
  const body = sdp('10.0.0.1', [{ port: 4000 }])
  const A = [{ ip: '10.0.0.1', port: 4001, mux: false }]
  it('an offer and an answer (application/sdp)', () => {
    expect(of(INVITE('c1', body))).toEqual(A)
    expect(of(OK('c1', body))).toEqual(A)
  })
  it('compact c: header, parameters on the type, and no Content-Type at all', () => {
    const m = Buffer.from(
      `INVITE sip:b@x SIP/2.0\r\ni: c2\r\nc: Application/SDP;charset=utf-8\r\nl: ${body.length}\r\n\r\n${body}`,
    )
    expect(of(m)).toEqual(A)
    const bare = Buffer.from(`SIP/2.0 200 OK\r\nCall-ID: c3\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    expect(of(bare)).toEqual(A)
  })
  it('not SDP: another type, or no body', () => {
    expect(of(INVITE('c4', body, 'text/plain'))).toEqual([])
    expect(of(sipMessage('BYE sip:b@x SIP/2.0', 'c4', '2 BYE'))).toEqual([])
  })
  it('a multipart body: the SDP part (quoted boundary, other parts around it), nested once', () => {
    const mp =
      '--b1\r\nContent-Type: application/isup\r\n\r\n\x01\x02\x03\r\n' +
      `--b1\r\nContent-Type: application/sdp\r\n\r\n${body}\r\n--b1--\r\n`
    expect(of(INVITE('c5', mp, 'multipart/mixed; boundary="b1"'))).toEqual(A)
    const inner = `--in\r\nContent-Type: application/sdp\r\n\r\n${sdp('10.0.0.2', [{ port: 6000 }])}\r\n--in--`
    const outer = `--out\r\nContent-Type: multipart/alternative;boundary=in\r\n\r\n${inner}\r\n--out--\r\n`
    expect(of(INVITE('c6', outer, 'multipart/mixed;boundary=out'))).toEqual([
      { ip: '10.0.0.2', port: 6001, mux: false },
    ])
    expect(of(INVITE('c7', mp, 'multipart/mixed'))).toEqual([]) // no boundary
  })
  it('Content-Length bounds the body', () => {
    const m = INVITE('c8', body)
    const info = scanSip(m)!
    expect(sdpBodies(m, info.headerLength, 10)).toEqual([body.slice(0, 10)])
  })
})
