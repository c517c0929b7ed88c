// The hep-js 1.0.22 peers of bench/wait.js (adapted from shared/perf/hepjs-listen.mjs):
//   node bench/hepjs-peers.js listen PORT        a UDP listener: HEPjs.decapsulate() and one
//                                                 JSON.stringify line per packet on stdout
//                                                 (8 MiB receive buffer); stops on SIGTERM/SIGINT
//   node bench/hepjs-peers.js decode FILE        HEP3 hex lines -> one JSON line each on stdout
import dgram from 'node:dgram'
import { createReadStream } from 'node:fs'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'

const HEPjs = createRequire(import.meta.url)('hep-js')
const [mode, arg] = process.argv.slice(2)
const out = process.stdout
const line = (buf) => {
  const d = HEPjs.decapsulate(buf)
  return (d ? JSON.stringify(d) : JSON.stringify({ error: 'decode', len: buf.length })) + '\n'
}

if (mode === 'listen') {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 })
  s.on('message', (buf) => out.write(line(buf)))
  s.bind(Number(arg), '127.0.0.1', () => process.stderr.write('ready\n'))
  const stop = () => {
    s.close()
    out.end(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else if (mode === 'decode') {
  let batch = ''
  for await (const hex of createInterface({ input: createReadStream(arg), crlfDelay: Infinity })) {
    if (!hex) continue
    batch += line(Buffer.from(hex, 'hex'))
    if (batch.length > 65536) {
      if (!out.write(batch)) await new Promise((r) => out.once('drain', r))
      batch = ''
    }
  }
  out.write(batch)
}
