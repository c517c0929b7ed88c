// Why src/rtcp/sdp.ts scans SDP itself instead of using sdp-transform: the RTCP endpoints of the same
// SDP bodies (an offer as linphone sends it, with rtcp, rtcp-mux, ICE-less audio and video), ours
// against sdp-transform's parse plus the same extraction (the oracle of test/rtcp/sdp.test.ts), in one
// run. The capture path reads one SDP per offer and answer, so this is per SIP message with a body.
import { parse } from 'sdp-transform'
import { sdpEndpoints } from '../dist/src/rtcp/sdp.js'
import { compare, line } from './lib.js'

const SDP = [
  'v=0',
  'o=alice 1234 5678 IN IP4 192.168.1.20',
  's=Talk',
  'c=IN IP4 192.168.1.20',
  't=0 0',
  'a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics',
  'a=record:off',
  'm=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 useinbandfec=1',
  'a=rtpmap:97 speex/16000',
  'a=fmtp:97 vbr=on',
  'a=rtpmap:98 speex/8000',
  'a=fmtp:98 vbr=on',
  'a=fmtp:18 annexb=yes',
  'a=rtpmap:101 telephone-event/48000',
  'a=rtpmap:99 telephone-event/16000',
  'a=rtpmap:100 telephone-event/8000',
  'a=rtcp:7079',
  'a=rtcp-fb:* trr-int 1000',
  'a=rtcp-fb:* ccm tmmbr',
  'm=video 9078 RTP/AVP 96 97',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 H264/90000',
  'a=fmtp:97 profile-level-id=42801F',
  'a=rtcp-mux',
  'a=rtcp-fb:* trr-int 1000',
  'a=rtcp-fb:96 nack pli',
  '',
].join('\r\n')

function viaSdpTransform(text) {
  const s = parse(text)
  const out = []
  const norm = (ip) => (ip === undefined || ip === '0.0.0.0' ? undefined : ip.toLowerCase())
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

export function run() {
  const ours = JSON.stringify(sdpEndpoints(SDP))
  if (ours !== JSON.stringify(viaSdpTransform(SDP))) throw new Error(`SDP endpoints differ: ${ours}`)
  let sink = 0
  const r = compare({
    ours: () => {
      sink += sdpEndpoints(SDP).length
    },
    hepjs: () => {
      sink += viaSdpTransform(SDP).length
    },
  })
  if (sink === 0) throw new Error('nothing found')
  return [
    `SDP: ${SDP.length} bytes, endpoints ${ours}`,
    line('SDP endpoints: ours vs sdp-transform', r.ours, r.hepjs),
  ]
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(run().join('\n'))
