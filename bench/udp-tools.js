// Helper processes for the network benchmarks.
//   node bench/udp-tools.js count PORT            plain UDP socket that only counts; prints the count on SIGTERM
//                                                 ("COUNT FIRST_MS LAST_MS": arrival times, hrtime ms)
//   node bench/udp-tools.js blast PORT HEXFILE PPS SECONDS   paced sender (PPS 0 = as fast as possible)
//   node bench/udp-tools.js tcp PORT HEXFILE N    writes N HEP3 frames over one TCP connection
//   node bench/udp-tools.js forward PORT - DESTPORT   plain UDP-to-UDP forwarder (the relay's peer); prints its count on SIGTERM
//   node bench/udp-tools.js rtcp-send            reads "HOST PORT N" lines on stdin, sends each an RTCP sender
//                                                 report + SDES (SSRC and counts from N); prints its count at stdin's end
//   node bench/udp-tools.js count-hep HOST PORT   a HEP3 sink counting by payload type; on SIGTERM prints
//                                                 {"total","sip","rtcp","rtcpCid","other"} (rtcpCid: RTCP with a correlation id)
import dgram from 'node:dgram'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

const [mode, portText, file, a, b] = process.argv.slice(2)
const port = Number(portText)
const packets = () =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((h) => Buffer.from(h, 'hex'))

if (mode === 'count-any') {
  // node bench/udp-tools.js count-any HOST PORT: a sink on HOST (another namespace's address)
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 })
  let n = 0
  s.on('message', () => n++)
  s.bind(Number(file), portText, () => process.stdout.write('ready\n'))
  process.on('SIGTERM', () => {
    process.stdout.write(`${n}\n`)
    process.exit(0)
  })
} else if (mode === 'count-hep') {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 16 * 1024 * 1024 })
  const c = { total: 0, sip: 0, rtcp: 0, rtcpCid: 0, other: 0 }
  s.on('message', (m) => {
    c.total++
    // HEP3: "HEP3", total length, then chunks of vendor(2) type(2) length(2) value
    let type = -1
    let cid = false
    for (let off = 6; off + 6 <= m.length;) {
      const t = m.readUInt16BE(off + 2)
      const len = m.readUInt16BE(off + 4)
      if (len < 6) break
      if (t === 0x0b) type = m[off + 6]
      else if (t === 0x11 && len > 6) cid = true
      off += len
    }
    if (type === 1) c.sip++
    else if (type === 5) {
      c.rtcp++
      if (cid) c.rtcpCid++
    } else c.other++
  })
  s.bind(Number(file), portText, () => process.stdout.write('ready\n'))
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify(c)}\n`)
    process.exit(0)
  })
} else if (mode === 'rtcp-send') {
  const s = dgram.createSocket('udp4')
  let n = 0
  let rest = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (d) => {
    const lines = (rest + d).split('\n')
    rest = lines.pop()
    for (const l of lines) {
      const [host, p, k] = l.split(' ')
      s.send(senderReport(0x5ea0000 + Number(k), Number(k)), Number(p), host)
      n++
    }
  })
  process.stdin.on('end', () => {
    process.stdout.write(`${n}\n`)
    setTimeout(() => s.close(), 100)
  })
} else if (mode === 'count') {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 })
  let n = 0
  let first = 0
  let last = 0
  s.on('message', () => {
    last = performance.now()
    if (n++ === 0) first = last
  })
  s.bind(port, '127.0.0.1', () => process.stdout.write('ready\n'))
  process.on('SIGTERM', () => {
    process.stdout.write(`${n} ${first} ${last}\n`)
    process.exit(0)
  })
} else if (mode === 'blast') {
  const pkts = packets()
  const pps = Number(a)
  const seconds = Number(b)
  const s = dgram.createSocket('udp4')
  s.connect(port, '127.0.0.1', () => {
    const start = process.hrtime.bigint()
    let sent = 0
    let inflight = 0
    const end = BigInt(Math.round(seconds * 1e9))
    const tick = () => {
      const el = process.hrtime.bigint() - start
      if (el >= end) {
        const done = () => (inflight === 0 ? finish() : setTimeout(done, 5))
        const finish = () => {
          process.stdout.write(`${sent}\n`)
          s.close()
        }
        return done()
      }
      const due = pps === 0 ? sent + 256 : Math.floor((Number(el) / 1e9) * pps)
      let k = 0
      while (sent < due && k < 512 && inflight < 4096) {
        inflight++
        s.send(pkts[sent % pkts.length], () => inflight--)
        sent++
        k++
      }
      setImmediate(tick)
    }
    tick()
  })
} else if (mode === 'tcp') {
  const pkts = packets()
  const n = Number(a)
  const c = net.connect(port, '127.0.0.1', () => {
    let i = 0
    const pump = () => {
      while (i < n) {
        const chunk = Buffer.concat(
          Array.from({ length: Math.min(64, n - i) }, (_, k) => pkts[(i + k) % pkts.length]),
        )
        i += Math.min(64, n - i)
        if (!c.write(chunk)) return c.once('drain', pump)
      }
      c.end()
    }
    pump()
  })
}

if (mode === 'forward') {
  const out = dgram.createSocket('udp4')
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 })
  let n = 0
  out.connect(Number(a), '127.0.0.1', () => {
    s.on('message', (m) => {
      n++
      out.send(m)
    })
    s.bind(port, '127.0.0.1', () => process.stdout.write('ready\n'))
  })
  process.on('SIGTERM', () => {
    process.stdout.write(`${n}\n`)
    process.exit(0)
  })
}

if (mode === 'sendall') {
  // every packet of HEXFILE once, as fast as the socket takes them; prints "count ms"
  const pkts = packets()
  const s = dgram.createSocket('udp4')
  s.connect(port, '127.0.0.1', () => {
    const t0 = process.hrtime.bigint()
    let i = 0
    let inflight = 0
    const pump = () => {
      while (i < pkts.length && inflight < 4096) {
        inflight++
        s.send(pkts[i++], () => {
          inflight--
          if (i >= pkts.length && inflight === 0) {
            process.stdout.write(`${pkts.length} ${Number(process.hrtime.bigint() - t0) / 1e6}\n`)
            s.close()
          }
        })
      }
      if (i < pkts.length) setImmediate(pump)
    }
    pump()
  })
}

/** An RFC 3550 sender report (28 bytes) and an SDES CNAME: one compound RTCP packet. */
function senderReport(ssrc, n) {
  const sr = Buffer.alloc(28)
  sr[0] = 0x80
  sr[1] = 200
  sr.writeUInt16BE(6, 2)
  sr.writeUInt32BE(ssrc >>> 0, 4)
  const now = Date.now()
  sr.writeUInt32BE(Math.floor(now / 1000) + 2208988800, 8)
  sr.writeUInt32BE(((now % 1000) * 4294967) >>> 0, 12)
  sr.writeUInt32BE((n * 160) >>> 0, 16)
  sr.writeUInt32BE(n >>> 0, 20)
  sr.writeUInt32BE((n * 160) >>> 0, 24)
  const cname = Buffer.from('soak@hep')
  const sdes = Buffer.alloc(4 + Math.ceil((4 + 2 + cname.length + 1) / 4) * 4)
  sdes[0] = 0x81
  sdes[1] = 202
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2)
  sdes.writeUInt32BE(ssrc >>> 0, 4)
  sdes[8] = 1
  sdes[9] = cname.length
  cname.copy(sdes, 10)
  return Buffer.concat([sr, sdes])
}
