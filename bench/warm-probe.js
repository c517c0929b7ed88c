// One fresh process's first SIP messages through the live path (capture reader, extractor, items,
// encoder), one record per chunk as an engine's pipe delivers them: ms from the write of each record
// to its HEP bytes, without and with the warm-up of src/capture/warm.ts first (bench/live.js runs it).
//   node bench/warm-probe.js 0|1   -> JSON [ms of message 1, 2, ...]
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { PassThrough } from 'node:stream'
import { CaptureItems } from '../dist/src/capture/items.js'
import { warmUp } from '../dist/src/capture/warm.js'
import { ItemEncoder } from '../dist/src/item/encode.js'

const warm = process.argv[2] === '1'
const buf = readFileSync(new URL('../fixtures/captures/sip-udp.pcap', import.meta.url))
const recs = []
for (let off = 24; off + 16 <= buf.length;) {
  const incl = buf.readUInt32LE(off + 8)
  recs.push(buf.subarray(off, off + 16 + incl))
  off += 16 + incl
}
const opts = { version: 3 }
if (warm) await warmUp({ ...opts, format: 'pcap', sipDetails: false, rtcp: 'correlated' })
const src = new PassThrough()
const items = new CaptureItems(src, 'probe', {
  mode: 'sip',
  rtcp: 'correlated',
  extract: { sipDetails: false },
})
const enc = new ItemEncoder(opts)
const it = items.batches()
src.write(buf.subarray(0, 24))
const out = []
for (const r of recs) {
  const t0 = performance.now()
  src.write(r)
  const b = await it.next()
  for (const x of b.value) if (enc.readable(x)) enc.encode(x)
  out.push(performance.now() - t0)
}
console.log(JSON.stringify(out))
