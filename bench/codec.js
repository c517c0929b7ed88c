// HEP3 encode/decode packets/s of our codec against hep-js 1.0.22 on the same ~900-byte SIP INVITE.
import { createRequire } from 'node:module'
import { decode, encode, Ipv4Texts } from '../dist/src/index.js'
import { encodeCanonicalGenerated, scalarWriterGenerated } from '../dist/src/hep/codegen.js'
import { jsonNum, jsonStr, jsonStrRoom, writeScalarsTyped } from '../dist/src/hep/json-bytes.js'
import { encodeCanonicalTyped } from '../dist/src/hep/v3.js'
import { compare, line } from './lib.js'
import { storeField } from '../dist/src/hep/store.js'
import { CHUNK_BY_ID } from '../dist/src/hep/chunks.js'

// HEP_BENCH_BEFORE=DIR[,DIR…]: other built checkouts (e.g. main before a change, b16fe94) whose decode
// runs in the same rounds, interleaved with ours and hep-js's
const BEFORE = await Promise.all(
  (process.env.HEP_BENCH_BEFORE ?? '')
    .split(',')
    .filter(Boolean)
    .map(async (dir) => ({ dir, m: await import(`${dir}/dist/src/index.js`) })),
)

const require = createRequire(import.meta.url)
const HEPjs = require('hep-js')

const sdp = [
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 10.0.0.1',
  's=-',
  'c=IN IP4 10.0.0.1',
  't=0 0',
  'm=audio 6004 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n')
const invite = [
  'INVITE sip:bob@example.com:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-524287-1---8d4f1b3c2a;rport',
  'Max-Forwards: 70',
  'Contact: <sip:alice@10.0.0.1:5060;transport=udp>',
  'To: "Bob" <sip:bob@example.com>',
  'From: "Alice" <sip:alice@example.com>;tag=4f8e2a11',
  'Call-ID: 7d9c3e1f-52a4-4a2b-9c1d-3e5f7a9b1c2d@10.0.0.1',
  'CSeq: 1 INVITE',
  'Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE',
  'Content-Type: application/sdp',
  'Supported: replaces, norefersub, extended-refer, timer, outbound, path, X-cisco-serviceuri',
  'User-Agent: Bench Softphone 5.1.2 build 1234',
  'Allow-Events: presence, kpml, talk',
  `Content-Length: ${Buffer.byteLength(sdp)}`,
  '',
  sdp,
].join('\r\n')

const rcinfo = {
  protocolFamily: 2,
  protocol: 17,
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
  srcPort: 5060,
  dstPort: 5060,
  timeSeconds: 1795437599,
  timeUseconds: 584087,
  payloadType: 1,
  captureId: 2001,
}
const ours = { version: 3, ...rcinfo, payload: Buffer.from(invite) }
const wire = encode(ours)
const theirs = HEPjs.encapsulate(invite, rcinfo)
if (!wire.equals(Buffer.from(theirs))) {
  // same fields, possibly another chunk order: both must at least decode to the same payload
  const a = decode(Buffer.from(theirs))
  if (a.payload.toString() !== invite) throw new Error('hep-js output does not decode to the INVITE')
}

export function run() {
  const out = []
  out.push(
    `HEP3 packet: ${wire.length} bytes (SIP INVITE with SDP, payload ${Buffer.byteLength(invite)} bytes)`,
  )
  let sink = 0
  // as listen and decode do: one decoding session, which formats each sender address once
  const session = { addresses: new Ipv4Texts() }
  const contenders = {
    ours: () => {
      sink += decode(wire, 0, wire.length, session).srcPort
    },
    hepjs: () => {
      sink += HEPjs.decapsulate(wire).rcinfo.srcPort
    },
  }
  BEFORE.forEach(({ m }, i) => {
    // an older checkout may have no session (b16fe94 kept its IPv4 texts in the module)
    const s = m.Ipv4Texts ? { addresses: new m.Ipv4Texts() } : undefined
    contenders[`before${i}`] = () => {
      sink += m.decode(wire, 0, wire.length, s).srcPort
    }
  })
  const dec = compare(contenders, BEFORE.length > 0 ? 8 : 5)
  out.push(line('decode (packets/s)', dec.ours, dec.hepjs, 10))
  BEFORE.forEach(({ dir }, i) =>
    out.push(
      line(`  the same, ${dir.split('/').pop()}`, dec[`before${i}`], dec.hepjs) +
        ` (ours/this: ${(dec.ours / dec[`before${i}`]).toFixed(3)})`,
    ),
  )
  // the decoder stores each field through one switch (hep/store.ts), not each row's own set: 34
  // functions at one call site make a megamorphic call per chunk, never inlined
  const fields = decode(wire)
  const rows = fields.chunks.filter((c) => typeof c === 'number').map((id) => CHUNK_BY_ID[id])
  const values = rows.map((d) => d.get(fields))
  const store = compare({
    ours: () => {
      const p = { version: 3 }
      for (let i = 0; i < rows.length; i++) storeField(p, rows[i].id, values[i])
      sink += p.srcPort
    },
    hepjs: () => {
      const p = { version: 3 }
      for (let i = 0; i < rows.length; i++) rows[i].set(p, values[i])
      sink += p.srcPort
    },
  })
  out.push(
    line('decode store: switch vs row set', store.ours, store.hepjs, 1.1)
      .replace('ours', 'switch')
      .replace('peer', 'set') + ' (the switch kept only while ≥ 1.1×)',
  )
  const once = compare({
    ours: () => {
      sink += decode(wire).srcPort
    },
    hepjs: () => {
      sink += HEPjs.decapsulate(wire).rcinfo.srcPort
    },
  })
  out.push(line('decode, one-off (no session)', once.ours, once.hepjs))
  const enc = compare({
    ours: () => {
      sink += encode(ours).length
    },
    hepjs: () => {
      sink += HEPjs.encapsulate(invite, rcinfo).length
    },
  })
  out.push(line('encode (packets/s)', enc.ours, enc.hepjs, 2.5))
  const oursText = { ...ours, payload: invite }
  const enc2 = compare({
    ours: () => {
      sink += encode(oursText).length
    },
    hepjs: () => {
      sink += HEPjs.encapsulate(invite, rcinfo).length
    },
  })
  out.push(line('encode, payload given as text', enc2.ours, enc2.hepjs))
  // the one generated function (src/hep/codegen.ts) stays only while it beats the typed loop by 1.3x
  const gen = compare({
    ours: () => {
      sink += encodeCanonicalGenerated(ours, undefined, 0).length
    },
    hepjs: () => {
      sink += encodeCanonicalTyped(ours).length
    },
  })
  out.push(
    line('encode: generated vs typed', gen.ours, gen.hepjs, 1.3)
      .replace('ours', 'gen.')
      .replace('peer', 'typed') + ' (codegen kept only while ≥ 1.3×)',
  )
  // the JSON scalar writer of listen/decode --json: generated vs its typed reference
  const decoded = decode(wire)
  const w = { buf: Buffer.allocUnsafe(1 << 16), pos: 0, room() {} }
  const genScalars = scalarWriterGenerated({ num: jsonNum, str: jsonStr, strRoom: jsonStrRoom })
  const js = compare({
    ours: () => {
      w.pos = 0
      genScalars(decoded, w)
      sink += w.pos
    },
    hepjs: () => {
      w.pos = 0
      writeScalarsTyped(decoded, w)
      sink += w.pos
    },
  })
  out.push(
    line('JSON scalars: generated vs typed', js.ours, js.hepjs, 1.3)
      .replace('ours', 'gen.')
      .replace('peer', 'typed') + ' (codegen kept only while ≥ 1.3×)',
  )
  if (sink === 42) out.push('')
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(run().join('\n'))
