// Where users wait (#15), each row side by side with its peer in the same run:
//   start-up        hep --help and a one-packet decode vs a bare oclif 4 CLI (bench/oclif-peer)
//   decode          100,000 HEP3 hex lines -> JSON lines, whole run, vs hep-js doing the same
//   convert         the 84,000-message capture -> JSON lines, whole run, vs tshark (SDP off)
//   listen          default flags, JSON lines to a file: loss at 50,000 packets/s for 10 s; the
//                   ceiling vs the hep-js listener and a plain counting socket
//   replay          --topspeed of the 84,000-message capture into a counting receiver, first to
//                   last arrival, vs sngrep sending the same capture
// HEP_BENCH_BEFORE=DIR also runs another built checkout (e.g. main before a change) in each row.
// The capture: HEP_BENCH_LARGE=FILE, else bench/out/sip-load-large.pcap, made by bench/make-large.sh
// (sipp + dumpcap) when missing. Loopback only; every child is bounded in time.
import { spawn, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { fmt, runMeasured } from './lib.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TOOLS = join(ROOT, 'bench/udp-tools.js')
const PEERS = join(ROOT, 'bench/hepjs-peers.js')
const OCLIF_PEER = join(ROOT, 'bench/oclif-peer/bin/run.js')
const HEX = join(ROOT, 'fixtures/hep/hep-v3.hex')
const env = { ...process.env, NODE_ENV: 'production' }
const have = (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const freePort = () => 30000 + Math.floor(Math.random() * 20000)
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1]
const ratio = (a, b) => `${(a / b).toFixed(2)}×`

/** The tools compared: ours (this checkout) and, with HEP_BENCH_BEFORE, the one before. */
const HEPS = [{ name: 'hep', bin: join(ROOT, 'bin/run.js') }]
if (process.env.HEP_BENCH_BEFORE)
  HEPS.push({ name: 'before', bin: join(process.env.HEP_BENCH_BEFORE, 'bin/run.js') })

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined

/** Runs node with `args`; returns its wall ms, and (with /usr/bin/time) its CPU ms (user + system). */
function timed(args, opts = {}) {
  const t = process.hrtime.bigint()
  const [cmd, argv] = TIME
    ? [TIME, ['-f', 'hep-bench-cpu %U %S', process.execPath, ...args]]
    : [process.execPath, args]
  const r = spawnSync(cmd, argv, {
    env: opts.env ?? env,
    stdio: [opts.input ?? 'ignore', opts.stdout ?? 'ignore', 'pipe'],
    timeout: 120_000,
  })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  const m = /hep-bench-cpu ([\d.]+) ([\d.]+)/.exec(String(r.stderr))
  return { ms, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN }
}

function bg(cmd, args, opts = {}) {
  // opts.env: variables added to the environment
  const child = spawn(cmd, args, {
    env: { ...env, ...opts.env },
    stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.maxMs ?? 120_000)
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)))
  void exited.then(() => clearTimeout(killer))
  const waitFor = async (re, which = 'stderr') => {
    for (let i = 0; i < 1500; i++) {
      const m = (which === 'stderr' ? err : out).match(re)
      if (m) return m
      await sleep(10)
    }
    throw new Error(`timeout waiting for ${re}: ${err}`)
  }
  return { child, exited, waitFor, out: () => out, err: () => err }
}

export async function startup(rounds = 15) {
  const one = join(tmpdir(), `hep-one-${process.pid}.hex`)
  writeFileSync(one, readFileSync(HEX, 'utf8').split('\n')[0] + '\n')
  const runs = {
    'node -e 0': ['-e', '0'],
    'peer --help': [OCLIF_PEER, '--help'],
    'peer hello FILE': [OCLIF_PEER, 'hello', one],
  }
  for (const h of HEPS) {
    runs[`${h.name} --help`] = [h.bin, '--help']
    runs[`${h.name} decode FILE`] = [h.bin, 'decode', one]
  }
  // interleaved rounds; wall time (best and median) and, less sensitive to a loaded machine, the CPU
  // time each run took (user + system, /usr/bin/time: 10 ms steps)
  const t = Object.fromEntries(Object.keys(runs).map((k) => [k, []]))
  const c = Object.fromEntries(Object.keys(runs).map((k) => [k, []]))
  for (let i = 0; i < rounds; i++)
    for (const [k, a] of Object.entries(runs)) {
      const r = timed(a)
      t[k].push(r.ms)
      c[k].push(r.cpu)
    }
  rmSync(one, { force: true })
  const min = (k) => Math.min(...t[k])
  const med = (k) => median(t[k])
  const cpu = (k) => (TIME ? `, CPU ${median(c[k]).toFixed(0)} ms` : '')
  const out = [
    `start-up, ${rounds} interleaved rounds, best (median${TIME ? ', median CPU' : ''}); load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(
        ' ',
      )}: node -e 0 ${min('node -e 0').toFixed(0)} ms (${med('node -e 0').toFixed(0)}${cpu('node -e 0')}); ` +
      `peer (bare oclif 4 CLI, one command) --help ${min('peer --help').toFixed(0)} ms (${med('peer --help').toFixed(0)}${cpu('peer --help')}), ` +
      `its command ${min('peer hello FILE').toFixed(0)} ms (${med('peer hello FILE').toFixed(0)}${cpu('peer hello FILE')})`,
  ]
  for (const h of HEPS) {
    const help = `${h.name} --help`
    const dec = `${h.name} decode FILE`
    const rh = min(help) / min('peer --help')
    const rd = min(dec) / min('peer hello FILE')
    const rhm = med(help) / med('peer --help')
    const rdm = med(dec) / med('peer hello FILE')
    const cr = (a, b) => (TIME ? `, CPU ${(median(c[a]) / median(c[b])).toFixed(2)}×` : '')
    out.push(
      `  ${h.name} --help ${min(help).toFixed(0)} ms (${med(help).toFixed(0)}${cpu(help)}) = ${rh.toFixed(2)}× the peer (median ${rhm.toFixed(2)}×${cr(help, 'peer --help')}); ` +
        `one-packet decode ${min(dec).toFixed(0)} ms (${med(dec).toFixed(0)}${cpu(dec)}) = ${rd.toFixed(2)}× the peer's command (median ${rdm.toFixed(2)}×${cr(dec, 'peer hello FILE')})` +
        (h.name === 'hep' ? ` (target ≤ 1.0×: ${rh <= 1 && rd <= 1 ? 'met' : 'NOT met'})` : ''),
    )
  }
  return out
}

export async function decodeHex(dir, rounds = 5) {
  const lines = readFileSync(HEX, 'utf8').trim().split('\n')
  const file = join(dir, 'hex-100k.hex')
  const all = Array.from({ length: 100_000 }, (_, i) => lines[i % lines.length])
  writeFileSync(file, all.join('\n') + '\n')
  const sink = join(dir, 'decode.out')
  const runs = { 'hep-js': [PEERS, 'decode', file] }
  for (const h of HEPS) runs[h.name] = [h.bin, 'decode', file, '--json', '-q']
  // the same hep with its JavaScript loops instead of the WebAssembly kernels (src/hep/byte-kernels.ts)
  const JS = 'hep, HEP_WASM=0'
  runs[JS] = runs.hep
  const envOf = { [JS]: { ...env, HEP_WASM: '0' } }
  const best = {}
  const cpu = {}
  for (let i = 0; i < rounds; i++)
    for (const [k, a] of Object.entries(runs)) {
      const fd = openSync(sink, 'w')
      const r = timed(a, { stdout: fd, env: envOf[k] })
      closeSync(fd)
      const n = packetLinesOf(sink)
      if (n !== 100_000) throw new Error(`${k} wrote ${n} lines, not 100000`)
      best[k] = Math.min(best[k] ?? Infinity, r.ms)
      cpu[k] = Math.min(cpu[k] ?? Infinity, r.cpu)
    }
  rmSync(file)
  rmSync(sink)
  // CPU time (user + system, best of the rounds) beside the wall time: less at the mercy of the load
  const cpuText = (k) => (TIME ? ` (CPU ${cpu[k].toFixed(0)} ms)` : '')
  return HEPS.map(
    (h) =>
      `decode 100,000 HEP3 hex lines -> JSON lines, whole run, best of ${rounds}, load average ${uptimeLoad()}: ${h.name} ${best[h.name].toFixed(0)} ms${cpuText(h.name)}; ` +
      `hep-js ${best['hep-js'].toFixed(0)} ms${cpuText('hep-js')}; ${ratio(best['hep-js'], best[h.name])}` +
      (TIME ? ` (CPU ${ratio(cpu['hep-js'], cpu[h.name])})` : '') +
      (h.name === 'hep'
        ? ` (target ≥ 4×: ${best['hep-js'] / best.hep >= 4 ? 'met' : 'NOT met'}); ` +
          `with the JavaScript loops (HEP_WASM=0) ${best[JS].toFixed(0)} ms, ${ratio(best['hep-js'], best[JS])}: ` +
          `the WebAssembly kernels ${ratio(best[JS], best.hep)}`
        : ''),
  )
}

export async function convert(dir, large, records, rounds = 3) {
  const out = []
  const best = {}
  const rss = {}
  // CPU seconds as last sampled from /proc (every 100 ms, so a lower bound): less at the mercy of the load
  const cpu = {}
  const jsonl = join(dir, 'convert.jsonl')
  for (let i = 0; i < rounds; i++) {
    for (const h of HEPS) {
      const r = await runMeasured(process.execPath, [h.bin, 'convert', large, jsonl, '-q'])
      if (r.code !== 0) throw new Error(`${h.name} convert failed: ${r.stderr}`)
      best[h.name] = Math.min(best[h.name] ?? Infinity, r.ms)
      rss[h.name] = Math.max(rss[h.name] ?? 0, r.peakMB)
      cpu[h.name] = Math.min(cpu[h.name] ?? Infinity, r.cpuS)
    }
    if (have('tshark')) {
      const ts = await runMeasured('tshark', [
        '-r',
        large,
        '--disable-protocol',
        'sdp',
        '-Y',
        'sip',
        '-T',
        'fields',
        '-e',
        'sip.Call-ID',
      ])
      best.tshark = Math.min(best.tshark ?? Infinity, ts.ms)
      cpu.tshark = Math.min(cpu.tshark ?? Infinity, ts.cpuS)
    }
  }
  const lines = packetLinesOf(jsonl)
  rmSync(jsonl)
  for (const h of HEPS) {
    const vs = best.tshark ? best.tshark / best[h.name] : undefined
    out.push(
      `convert the ${records}-message capture -> JSON lines (${lines} lines), whole run, best of ${rounds}, load average ${uptimeLoad()}: ${h.name} ${best[h.name].toFixed(0)} ms (CPU ≥ ${cpu[h.name].toFixed(2)} s), peak RSS ${rss[h.name].toFixed(0)} MB; ` +
        (vs
          ? `tshark -Y sip -T fields -e sip.Call-ID (SDP off) ${best.tshark.toFixed(0)} ms (CPU ≥ ${cpu.tshark.toFixed(2)} s); ${vs.toFixed(1)}×` +
            (h.name === 'hep'
              ? ` (target ≥ 10× and < 150 MB: ${vs >= 10 && rss.hep < 150 ? 'met' : 'NOT met'})`
              : '')
          : 'tshark not installed'),
    )
  }
  return out
}

/**
 * Lines of a --json output file that are packets: all but a last {"summary":true,…} line (newer
 * builds). Read in chunks: a flat-out listen writes more than one string can hold.
 */
function packetLinesOf(path) {
  const fd = openSync(path, 'r')
  const chunk = Buffer.allocUnsafe(4 * 1024 * 1024)
  let lines = 0
  let lastStart = 0 // where the last line (up to the last newline) starts
  let nextStart = 0
  try {
    for (let pos = 0, n; (n = readSync(fd, chunk, 0, chunk.length, pos)) > 0; pos += n) {
      for (let i = chunk.indexOf(10); i >= 0 && i < n; i = chunk.indexOf(10, i + 1)) {
        lines++
        lastStart = nextStart
        nextStart = pos + i + 1
      }
    }
    const head = Buffer.alloc(16)
    readSync(fd, head, 0, 16, lastStart)
    return lines - (lines > 0 && head.toString('latin1').startsWith('{"summary":true') ? 1 : 0)
  } finally {
    closeSync(fd)
  }
}

/** CPU ms (user + system) of each thread of a process: { main, others } (from /proc; Linux only). */
function threadCpu(pid) {
  const out = { main: 0, others: 0 }
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const f = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1].split(' ')
      const ms = (Number(f[11]) + Number(f[12])) * 10 // clock ticks of 10 ms
      out[Number(t) === pid ? 'main' : 'others'] += ms
    }
  } catch {
    // the process ended
  }
  return out
}

/** The receivers of the listen rows: ours (two threads by default, one with HEP_LISTEN_THREADS=1), before, the peers. */
const RECEIVERS = [
  { kind: 'plain', label: 'plain counting socket' },
  { kind: 'hep-js', label: 'hep-js listener' },
  ...HEPS.map((h) => ({ kind: h.name, label: h.name, bin: h.bin })),
  {
    kind: 'hep-1',
    label: 'hep, one thread (HEP_LISTEN_THREADS=1)',
    bin: HEPS[0].bin,
    env: { HEP_LISTEN_THREADS: '1' },
  },
]

/**
 * A receiver for `seconds` of blast at `pps` (0: flat out); returns what was sent, the lines (packets)
 * taken, and the receiver's CPU per packet while the blast ran (its main thread, its other threads).
 */
async function listenRun(rc, dir, pps, seconds) {
  const port = freePort()
  const file = join(dir, `listen-${rc.kind}.out`)
  const fd = openSync(file, 'w')
  let r
  if (rc.kind === 'plain') {
    r = bg(process.execPath, [TOOLS, 'count', String(port)])
    await r.waitFor(/ready/, 'stdout')
  } else if (rc.kind === 'hep-js') {
    r = bg(process.execPath, [PEERS, 'listen', String(port)], { stdout: fd })
    await r.waitFor(/ready/)
  } else {
    // default flags: what a user gets
    r = bg(process.execPath, [rc.bin, 'listen', '--udp', `127.0.0.1:${port}`, '--json'], {
      stdout: fd,
      env: rc.env,
    })
    await r.waitFor(/listening on udp/)
  }
  const cpu0 = threadCpu(r.child.pid)
  const b = bg(process.execPath, [TOOLS, 'blast', String(port), HEX, String(pps), String(seconds)])
  await b.exited
  const sent = Number(b.out().trim())
  await sleep(1000)
  const cpu1 = threadCpu(r.child.pid)
  r.child.kill(rc.kind === 'plain' ? 'SIGTERM' : 'SIGINT')
  await r.exited
  closeSync(fd)
  const taken =
    rc.kind === 'plain' ? Number(r.out().trim().split('\n').pop().split(' ')[0]) : packetLinesOf(file)
  const buffer = /receive buffer (\d+) bytes/.exec(r.err())?.[1]
  rmSync(file, { force: true })
  const per = (ms) => (taken > 0 ? (ms * 1000) / taken : NaN)
  return {
    sent,
    taken,
    buffer,
    main: per(cpu1.main - cpu0.main),
    others: per(cpu1.others - cpu0.others),
  }
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

export async function listen(dir, rounds = 3) {
  const out = []
  for (const h of HEPS) {
    const p = await listenRun({ kind: h.name, bin: h.bin }, dir, 50_000, 10)
    out.push(
      `${h.name} listen --udp P --json > file (default flags, receive buffer ${p.buffer} bytes), 50,000 packets/s for 10 s: ` +
        `sent ${p.sent}, written ${p.taken}, lost ${p.sent - p.taken}` +
        (h.name === 'hep' ? ` (target 0: ${p.sent === p.taken ? 'met' : 'NOT met'})` : '') +
        ` [load ${load()}]`,
    )
  }
  // flat out: the rate each receiver kept, and its CPU per packet (a figure the load distorts less)
  const secs = 3
  const runs = Object.fromEntries(RECEIVERS.map((rc) => [rc.kind, []]))
  for (let i = 0; i < rounds; i++)
    for (const rc of RECEIVERS) runs[rc.kind].push(await listenRun(rc, dir, 0, secs))
  const best = (k) => Math.max(...runs[k].map((r) => r.taken / secs))
  const cpu = (k, w) => median(runs[k].map((r) => r[w]))
  const spread = (k) => {
    const v = runs[k].map((r) => r.taken / secs)
    return `${fmt(Math.min(...v))}–${fmt(Math.max(...v))}`
  }
  // a receiver that took nearly all that was sent was held back by the sender, not by itself
  const limited = (k) => runs[k].some((r) => r.taken >= 0.97 * r.sent)
  out.push(
    `listen ceiling, flat-out sender (bench/udp-tools.js blast) for ${secs} s, ${rounds} rounds [load ${load()}]:`,
  )
  for (const rc of RECEIVERS) {
    const k = rc.kind
    const sent = runs[k].map((r) => fmt(r.sent / secs)).join(', ')
    out.push(
      `  ${rc.label}: best ${fmt(best(k))}/s (${spread(k)}), offered ${sent}/s` +
        `${limited(k) ? ' (sender-limited: took ≥ 97 % of what was sent)' : ''}; ` +
        `CPU per packet: main thread ${cpu(k, 'main').toFixed(2)} µs, other threads ${cpu(k, 'others').toFixed(2)} µs`,
    )
  }
  const plainCpu = cpu('plain', 'main')
  for (const h of HEPS) {
    const k = h.name
    const vsJs = best(k) / best('hep-js')
    const vsPlain = best(k) / best('plain')
    // with a core of its own for the other thread, the main thread's CPU per packet bounds the rate
    const cpuTimes = cpu(k, 'main') / plainCpu
    // and with one core per thread, the busiest one (the others counted as one: conservative)
    const busiest = Math.max(cpu(k, 'main'), cpu(k, 'others'))
    out.push(
      `  ${k}: ${ratio(best(k), best('hep-js'))} the hep-js listener, ${(vsPlain * 100).toFixed(0)} % of the plain socket` +
        ` (CPU per packet on its main thread ${cpuTimes.toFixed(2)}× the plain socket's; the ceiling its busiest thread's CPU` +
        ` per packet allows, ${fmt(1e6 / busiest)}/s, is ${((plainCpu / busiest) * 100).toFixed(0)} % of the plain socket's)` +
        (k === 'hep'
          ? `; ${ratio(best(k), best('hep-1'))} one thread; target ≥ 3× hep-js: ${vsJs >= 3 ? 'met' : 'NOT met'}, ` +
            `≥ 90 % of the plain socket: ${vsPlain >= 0.9 ? 'met' : 'NOT met'} (≥ 60 %: ${vsPlain >= 0.6 ? 'met' : 'NOT met'})`
          : ''),
    )
  }
  return out
}

/** Runs a sender into a counting receiver; returns packets received and the first-to-last rate. */
async function sendInto(cmd, senderEnv = {}) {
  const port = freePort()
  const r = bg(process.execPath, [TOOLS, 'count', String(port)])
  await r.waitFor(/ready/, 'stdout')
  const [c, ...args] = cmd(port)
  const s = bg(c, args, { maxMs: 60_000, env: senderEnv })
  await s.exited
  await sleep(500)
  r.child.kill('SIGTERM')
  await r.exited
  const [n, first, last] = r.out().trim().split('\n').pop().split(' ').map(Number)
  return { n, rate: n > 1 ? ((n - 1) / (last - first)) * 1000 : 0, err: s.err() }
}

export async function replay(dir, large, records, rounds = 3) {
  const conf = join(dir, 'sngrep.conf')
  writeFileSync(conf, 'set eep.send.version 3\n')
  // the plain Node sender's input: the very datagrams hep sends, encoded beforehand
  const hex = join(dir, 'large.hex')
  const c = spawnSync(process.execPath, [HEPS[0].bin, 'convert', large, hex, '--into', 'hex', '-q'], { env })
  if (c.status !== 0) throw new Error(`convert to hex failed: ${c.stderr}`)
  const best = {}
  const lost = {}
  const senders = {}
  const ours = (bin, threads) => (port) => [
    process.execPath,
    bin,
    'replay',
    large,
    '--to',
    `127.0.0.1:${port}`,
    '--topspeed',
    '-q',
    ...(threads ? [threads] : []),
  ]
  for (const h of HEPS) senders[h.name] = ours(h.bin)
  // this checkout on two threads (HEP_REPLAY_THREADS=1; by default only with 3 cores or more)
  senders['hep, two threads'] = ours(HEPS[0].bin)
  const twoThreads = { HEP_REPLAY_THREADS: '1' }
  senders['plain Node sender'] = (port) => [process.execPath, TOOLS, 'sendall', String(port), hex]
  if (have('sngrep'))
    senders.sngrep = (port) => ['sngrep', '-f', conf, '-N', '-q', '-I', large, '-H', `udp:127.0.0.1:${port}`]
  const all = {}
  for (let i = 0; i < rounds; i++)
    for (const [k, cmd] of Object.entries(senders)) {
      const r = await sendInto(cmd, k === 'hep, two threads' ? twoThreads : {})
      best[k] = Math.max(best[k] ?? 0, r.rate)
      lost[k] = Math.max(lost[k] ?? 0, records - r.n)
      ;(all[k] ??= []).push(r.rate)
    }
  const spread = (k) => `${fmt(Math.min(...all[k]))}–${fmt(Math.max(...all[k]))}`
  const out = [
    `replay --topspeed of the ${records}-message capture into a counting receiver (8 MiB buffer asked), first to last arrival, best of ${rounds} (spread), ${availableParallelism()} cores, load ${uptimeLoad()}:`,
  ]
  for (const k of Object.keys(senders))
    out.push(
      `  ${k.padEnd(18)} ${fmt(best[k]).padStart(8)} packets/s (${spread(k)}), lost at most ${lost[k]}`,
    )
  const r = (a, b) => (best[b] ? ratio(best[a], best[b]) : 'n/a')
  for (const h of HEPS)
    out.push(
      `  ${h.name}: ${r(h.name, 'sngrep')} sngrep, ${((best[h.name] / best['plain Node sender']) * 100).toFixed(0)} % of the plain Node sender` +
        (h.name === 'hep'
          ? `, two threads ${r('hep, two threads', 'hep')} of it` +
            (HEPS.length > 1 ? `, ${r('hep', 'before')} before` : '') +
            ` (target ≥ 250 k/s, 0 lost, ≥ 4× sngrep: ${best.hep >= 250_000 && lost.hep === 0 && best.sngrep && best.hep / best.sngrep >= 4 ? 'met' : 'NOT met'})`
          : ''),
    )
  if (Object.values(lost).some((n) => n > 0))
    out.push(
      '  (a loss is the receiver falling behind: a plain Node socket that only counts, its buffer capped by net.core.rmem_max)',
    )
  return out
}

const uptimeLoad = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

/**
 * The UDP sender's immediate lookup (src/net/udp-sender.ts): 100,000 datagrams, 64 in flight, each
 * to an IP text, with Node's default lookup (answers on the next tick) and with ours (at once).
 */
export async function udpLookup(rounds = 5) {
  const dgram = await import('node:dgram')
  const sink = dgram.createSocket('udp4')
  await new Promise((r) => sink.bind(0, '127.0.0.1', r))
  sink.on('message', () => {})
  const port = sink.address().port
  const buf = Buffer.alloc(900, 65)
  const once = async (immediate) => {
    const s = dgram.createSocket(
      immediate ? { type: 'udp4', lookup: (ip, _o, cb) => cb(null, ip, 4) } : { type: 'udp4' },
    )
    await new Promise((r) => s.bind(0, r))
    const n = 100_000
    let i = 0
    let done = 0
    let inflight = 0
    const t = performance.now()
    await new Promise((resolve) => {
      const pump = () => {
        while (i < n && inflight < 64) {
          inflight++
          i++
          s.send(buf, port, '127.0.0.1', () => {
            inflight--
            if (++done === n) resolve()
            else pump()
          })
        }
      }
      pump()
    })
    const ms = performance.now() - t
    s.close()
    return (n / ms) * 1000
  }
  let node = 0
  let ours = 0
  for (let r = 0; r < rounds; r++) {
    node = Math.max(node, await once(false))
    ours = Math.max(ours, await once(true))
  }
  sink.close()
  return `UDP send with the immediate lookup of src/net/udp-sender.ts: ${fmt(ours)} datagrams/s; Node's default lookup ${fmt(node)}/s; ${ratio(ours, node)} (kept while > 1)`
}

function largeCapture() {
  const file = process.env.HEP_BENCH_LARGE ?? join(ROOT, 'bench/out/sip-load-large.pcap')
  if (!existsSync(file)) {
    console.log(`making ${file} with sipp and dumpcap (bench/make-large.sh, ~25 s)`)
    const r = spawnSync('bash', [join(ROOT, 'bench/make-large.sh'), file], {
      stdio: 'inherit',
      timeout: 300_000,
    })
    if (r.status !== 0) throw new Error('bench/make-large.sh failed')
  }
  // SIP messages in it: the ones hep finds (every UDP packet of the sipp run)
  const r = spawnSync(process.execPath, [HEPS[0].bin, 'convert', file, '/dev/null', '--into', 'hex'], {
    env,
    encoding: 'utf8',
  })
  const m = /SIP messages found\s+│?\s*(\d+)/.exec(r.stderr) ?? /SIP messages found\D+(\d+)/.exec(r.stderr)
  return { file, records: Number(m?.[1] ?? 0) }
}

export async function run(only) {
  const out = []
  const dir = mkdtempSync(join(tmpdir(), 'hep-wait-'))
  const want = (k) => !only || only.split(',').includes(k)
  try {
    if (want('startup')) out.push(...(await startup()))
    if (want('decode')) out.push(...(await decodeHex(dir)))
    const needLarge = ['convert', 'replay'].some(want)
    const { file, records } = needLarge ? largeCapture() : {}
    if (want('convert')) out.push(...(await convert(dir, file, records)))
    if (want('listen')) out.push(...(await listen(dir)))
    if (want('replay')) out.push(...(await replay(dir, file, records)), await udpLookup())
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) console.log((await run(process.argv[2])).join('\n'))
