// The JavaScript cost per packet of `replay --topspeed`, without the send syscall (which costs the
// same in any Node sender): in one process, warm, best of ROUNDS.
//   node bench/replay-js.js pipeline CAPTURE [ROUNDS]   replay() into a sender that only counts:
//                                                       read, decode, SIP detection, encode, loop
//   node bench/replay-js.js sender CAPTURE [ROUNDS]     the UDP sender (queue, window, confirmations)
//                                                       on a socket whose send() confirms on the next
//                                                       tick as Node's does, no syscall; beside it the
//                                                       plain loop of bench/udp-tools.js sendall
//   node bench/replay-js.js both CAPTURE [ROUNDS]       replay() through that sender: all our JS
//   node bench/replay-js.js alloc CAPTURE [ROUNDS]      each stage of the pipeline on its own (read,
//                                                       extract, items, encode), cumulative: ns and
//                                                       bytes allocated (young generation, from
//                                                       --trace-gc in a child process) per packet
//   node bench/replay-js.js encode CAPTURE [ROUNDS]     HEP3 encode alone of the capture's packets into
//                                                       one buffer, with an encoding session (ItemEncoder's)
//   node bench/replay-js.js instructions CAPTURE [MODE]  MODE (default both) under valgrind's callgrind,
//                                                       2 rounds and 5: the instructions of the 3 warm
//                                                       rounds between, per packet (no timer noise: on a
//                                                       shared machine the one figure that repeats; it
//                                                       does not see cache misses)
// HEP_DIST=DIR runs another build's dist/. Prints ns per packet. The CPU profile of a real run
// (node --cpu-prof) says the same with noise; on a shared machine compare builds in turns.
import { spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'

// HEP_DIST=DIR: another build's dist/ (a checkout before a change), to run the same rows against it
const dist = process.env.HEP_DIST ?? new URL('../dist', import.meta.url).pathname
const { replay } = await import(`${dist}/src/replay/replay.js`)
const { UdpSender } = await import(`${dist}/src/net/udp-sender.js`)
const { parseDestination } = await import(`${dist}/src/net/address.js`)
const { CaptureItems } = await import(`${dist}/src/capture/items.js`)
const { ItemEncoder } = await import(`${dist}/src/item/encode.js`)
const { CaptureReader } = await import(`${dist}/src/pcap/read/index.js`)
const { CaptureExtractor } = await import(`${dist}/src/capture/extract.js`)
const { encode } = await import(`${dist}/src/hep/codec.js`)
const { Ipv4Bits } = await import(`${dist}/src/hep/ip.js`)

const [mode, capture, roundsText] = process.argv.slice(2)
const rounds = Number(roundsText ?? 7)

class NullSender extends EventEmitter {
  destination = 'null'
  connected = true
  n = 0
  bytes = 0
  send(b) {
    this.n++
    this.bytes += b.length
    return true
  }
  ready = () => Promise.resolve()
  connect = () => Promise.resolve()
  flush = () => Promise.resolve(true)
  stats() {
    return { submitted: this.n, sent: this.n, failed: 0, dropped: 0, queued: 0, inFlight: 0, resent: 0 }
  }
  close = () => Promise.resolve(this.stats())
}

/** A socket as dgram's connected socket looks to its caller: send(buf, cb) confirms on the next tick. */
const fakeSend = function (buf, a, b, c) {
  const cb = typeof a === 'function' ? a : c
  if (cb) process.nextTick(cb, null, buf.length)
}

async function udpSender() {
  const s = new UdpSender(parseDestination('127.0.0.1:9'), { queueLimit: 1000 })
  await s.connect()
  s.socket.send = fakeSend
  return s
}

const opts = { files: [capture], timing: { mode: { kind: 'topspeed' } }, version: 3, onProgress() {} }

async function encoded() {
  const enc = new ItemEncoder({ version: 3 })
  const out = []
  for await (const it of new CaptureItems(capture, capture, { mode: 'sip', extract: { sipDetails: false } }))
    if (enc.next(it)) out.push(Buffer.from(enc.bytes))
  return out
}

/** bench/udp-tools.js sendall's loop (the plain Node sender of bench/wait.js), on the fake socket */
function plain(pkts) {
  const s = { send: fakeSend }
  return new Promise((resolve) => {
    let i = 0
    let inflight = 0
    const pump = () => {
      while (i < pkts.length && inflight < 4096) {
        inflight++
        s.send(pkts[i++], () => {
          inflight--
          if (i >= pkts.length && inflight === 0) resolve()
        })
      }
      if (i < pkts.length) setImmediate(pump)
    }
    pump()
  })
}

async function ourSender(pkts) {
  const s = await udpSender()
  const t0 = performance.now()
  for (const p of pkts) if (!s.send(p)) await s.ready()
  await s.flush()
  const ms = performance.now() - t0
  await s.close()
  if (s.stats().sent !== pkts.length) throw new Error(`sent ${s.stats().sent} of ${pkts.length}`)
  return ms
}

const ns = (v, n) => ((v * 1e6) / n).toFixed(0).padStart(5)
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1]
const row = (name, v, n, cpu) =>
  console.log(
    `${name.padEnd(28)} best ${ns(Math.min(...v), n)} ns/packet, median ${ns(median(v), n)}` +
      (cpu ? `; CPU best ${ns(Math.min(...cpu), n)}, median ${ns(median(cpu), n)}` : '') +
      ` (${n} packets, ${v.length} rounds)`,
  )
/** CPU ms (user + system, all threads) since `c` */
const cpuMs = (c) => {
  const d = process.cpuUsage(c)
  return (d.user + d.system) / 1000
}

if (mode === 'pipeline' || mode === 'both') {
  const v = []
  const cpu = []
  let n = 0
  for (let r = 0; r < rounds; r++) {
    const sender = mode === 'both' ? await udpSender() : new NullSender()
    const c = process.cpuUsage()
    const st = await replay(opts, sender)
    cpu.push(cpuMs(c))
    n = st.packets
    if (st.sent !== n) throw new Error(`sent ${st.sent} of ${n}`)
    v.push(st.elapsedMs)
  }
  row(mode === 'both' ? 'replay through UdpSender' : 'replay into a null sender', v, n, cpu)
}
if (mode === 'sender') {
  const pkts = await encoded()
  const a = []
  const b = []
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now()
    await plain(pkts)
    a.push(performance.now() - t0)
    b.push(await ourSender(pkts))
  }
  // (wall time: nothing here waits)
  row('plain sendall loop', a, pkts.length)
  row('UdpSender', b, pkts.length)
}

// each stage as replay runs it: SIP without the details scan, RTCP correlated
const itemsOf = () =>
  new CaptureItems(capture, capture, { mode: 'sip', rtcp: 'correlated', extract: { sipDetails: false } })
const STAGES = {
  read: async () => {
    let n = 0
    for await (const b of new CaptureReader(capture).batches()) n += b.length
    return n
  },
  extract: async () => {
    let n = 0
    const x = new CaptureExtractor(capture, { want: 'sip', sipDetails: false, rtcp: true })
    for await (const b of x.batches()) n += b.length
    return n
  },
  items: async () => {
    let n = 0
    for await (const b of itemsOf().batches()) n += b.length
    return n
  },
  encode: async () => {
    let n = 0
    const e = new ItemEncoder({ version: 3 })
    for await (const b of itemsOf().batches()) for (const it of b) if (e.readable(it) && e.encode(it)) n++
    return n
  },
}
if (mode === 'stage') {
  // (the child: one stage, ROUNDS times, under --trace-gc; prints "packets ms" per round)
  const fn = STAGES[process.argv[5]]
  for (let r = 0; r < rounds; r++) {
    const t = performance.now()
    const n = await fn()
    console.log(`round ${n} ${performance.now() - t}`)
  }
}
if (mode === 'alloc') {
  for (const stage of Object.keys(STAGES)) {
    const c = spawnSync(
      process.execPath,
      ['--trace-gc', new URL(import.meta.url).pathname, 'stage', capture, String(rounds), stage],
      { encoding: 'utf8', env: process.env },
    )
    let prev
    let mb = 0
    let n = 0
    const ms = []
    for (const l of c.stdout.split('\n')) {
      const g = / (Scavenge|Mark-Compact) ([0-9.]+) \([0-9.]+\) -> ([0-9.]+)/.exec(l)
      if (g) {
        if (prev !== undefined) mb += Number(g[2]) - prev
        prev = Number(g[3])
      }
      const r = /^round (\d+) ([0-9.]+)/.exec(l)
      if (r) {
        n += Number(r[1])
        ms.push(Number(r[2]) / Number(r[1]))
      }
    }
    console.log(
      `${stage.padEnd(8)} ${((mb * 1048576) / n).toFixed(0).padStart(5)} bytes allocated per packet, ` +
        `best ${(Math.min(...ms) * 1e6).toFixed(0)} ns/packet (${rounds} rounds)`,
    )
  }
}

if (mode === 'instructions') {
  const what = process.argv[4] ?? 'both'
  const refs = (r) => {
    const c = spawnSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        '--smc-check=all-non-file',
        process.execPath,
        new URL(import.meta.url).pathname,
        what,
        capture,
        String(r),
      ],
      { encoding: 'utf8', env: process.env },
    )
    const m = /refs:\s*([\d,]+)/.exec(c.stderr)
    const n = /\((\d+) packets/.exec(c.stdout)
    if (!m || !n) throw new Error(`valgrind: ${c.error?.message ?? c.stderr.slice(-500)}`)
    return { ir: Number(m[1].replaceAll(',', '')), packets: Number(n[1]) }
  }
  const a = refs(2)
  const b = refs(5)
  console.log(
    `${what}: ${((b.ir - a.ir) / 3 / b.packets).toFixed(0)} instructions per packet (callgrind, ${b.packets} packets a round)`,
  )
}

if (mode === 'encode') {
  const packets = []
  for await (const it of itemsOf()) packets.push(it.packet)
  const into = Buffer.allocUnsafe(65536)
  const session = { addressBits: Ipv4Bits === undefined ? undefined : new Ipv4Bits() }
  const v = []
  for (let r = 0; r < Math.max(rounds, 30); r++) {
    const t = performance.now()
    for (let i = 0; i < packets.length; i++) encode(packets[i], into, 0, session)
    v.push(performance.now() - t)
  }
  row('HEP3 encode into one buffer', v, packets.length)
}
