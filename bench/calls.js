// hep calls: the per-call summary of the 84,000-message capture (14,000 calls by sipp at 700 calls/s:
// HEP_BENCH_LARGE=FILE, else bench/out/sip-load-large.pcap, made by bench/make-large.sh when missing;
// where sipp or the capture cannot run, sip-udp.pcap repeated with unique Call-IDs), its time and peak
// RSS, side by side with tshark reading the same fields per message; and captures of 84,000 and
// 420,000 messages made alike, to show that memory does not grow with the input.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { generatePcap } from './gen.js'
import { fmt, runMeasured } from './lib.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/run.js')
// 18 messages, 3 calls (Call-IDs 1-18356@127.0.0.1 .. 3-18356@127.0.0.1)
const SRC = join(ROOT, 'fixtures/captures/sip-udp.pcap')
const MARK = Buffer.from('18356')

/** sip-udp.pcap repeated `rounds` times, each copy's Call-IDs made its own (18356 → the round number). */
function makeCapture(dst, rounds) {
  const one = statSync(SRC).size - 24 // the bytes of one copy of its records
  return generatePcap(SRC, dst, 24 + rounds * one, (chunk, off, round) => {
    const id = Buffer.from(String(round % 100000).padStart(5, '0'))
    for (let i = chunk.indexOf(MARK, off); i >= 0 && i < off + one; i = chunk.indexOf(MARK, i + 5))
      id.copy(chunk, i)
  })
}

/** The 84,000-message capture: the sipp load run (bench/make-large.sh), else a generated one. */
function largeCapture(dir) {
  const file = process.env.HEP_BENCH_LARGE ?? join(ROOT, 'bench/out/sip-load-large.pcap')
  if (!existsSync(file)) {
    mkdirSync(join(ROOT, 'bench/out'), { recursive: true })
    console.log(`making ${file} with sipp and dumpcap (bench/make-large.sh, ~25 s)`)
    const r = spawnSync('bash', [join(ROOT, 'bench/make-large.sh'), file], {
      stdio: 'inherit',
      timeout: 300_000,
    })
    if (r.status !== 0) {
      console.log('bench/make-large.sh failed: sip-udp.pcap repeated instead')
      rmSync(file, { force: true })
    }
  }
  if (existsSync(file))
    return { file, bytes: statSync(file).size, what: 'sipp -sn uac: 14,000 calls at 700 calls/s, dumpcap' }
  const gen = join(dir, 'calls-84k.pcap')
  const g = makeCapture(gen, Math.ceil(84000 / 18))
  return { file: gen, bytes: g.bytes, what: 'sip-udp.pcap repeated, Call-IDs made unique' }
}

async function best(times, cmd, args) {
  let b
  for (let i = 0; i < times; i++) {
    const r = await runMeasured(cmd, args, { stdout: 'pipe' })
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`)
    if (!b || r.ms < b.ms) b = { ...r, peakMB: Math.max(r.peakMB, b?.peakMB ?? 0) }
  }
  return b
}

/** `hep calls FILE --json` run `times` times: the best run, its calls and messages (from the summary). */
async function calls(file, times) {
  const r = await best(times, process.execPath, [BIN, 'calls', file, '--json'])
  const lines = r.stdout.trimEnd().split('\n')
  const summary = JSON.parse(lines.at(-1))
  return { ...r, calls: summary.calls, messages: summary.messages }
}

export async function run() {
  const out = []
  const dir = mkdtempSync(join(tmpdir(), 'hep-bench-calls-'))
  try {
    const g = largeCapture(dir)
    const ours = await calls(g.file, 3)
    out.push(
      `capture: ${(g.bytes / 1e6).toFixed(1)} MB, ${ours.messages} SIP messages, ${ours.calls} calls (${g.what})`,
    )
    let peer = '; tshark not installed: no peer figure'
    if (spawnSync('sh', ['-c', 'command -v tshark']).status === 0) {
      const fields = ['-e', 'sip.Call-ID', '-e', 'sip.Method', '-e', 'sip.Status-Code']
      const ts = await best(1, 'tshark', ['-n', '-r', g.file, '-Y', 'sip', '-T', 'fields', ...fields])
      const ids = new Set(
        ts.stdout
          .trimEnd()
          .split('\n')
          .map((l) => l.split('\t')[0]),
      )
      peer =
        `; tshark -Y sip -T fields (Call-ID, method, status per message; one run): ${(ts.ms / 1000).toFixed(2)} s ` +
        `(CPU ${ts.cpuS.toFixed(2)} s), peak RSS ${ts.peakMB.toFixed(0)} MB, ${ids.size} Call-IDs; tshark/ours = ${(ts.ms / ours.ms).toFixed(1)}×`
    }
    out.push(
      `hep calls (CLI, whole run, best of 3): ${(ours.ms / 1000).toFixed(2)} s (CPU ${ours.cpuS.toFixed(2)} s), ` +
        `${fmt((ours.messages / ours.ms) * 1000)} messages/s, peak RSS ${ours.peakMB.toFixed(0)} MB ` +
        `(target ≤ 2 s: ${ours.ms <= 2000 ? 'met' : 'NOT met'})${peer}`,
    )
    if (g.file.startsWith(dir)) rmSync(g.file)
    const sizes = []
    for (const n of [84000, 420000]) {
      const f = join(dir, `calls-${n}.pcap`)
      makeCapture(f, Math.ceil(n / 18))
      sizes.push(await calls(f, 1))
      rmSync(f)
    }
    const [a, b] = sizes
    out.push(
      `memory: hep calls of ${a.messages} messages (${a.calls} calls) peak RSS ${a.peakMB.toFixed(0)} MB, of ${b.messages} ` +
        `(${b.calls} calls) ${b.peakMB.toFixed(0)} MB in ${(b.ms / 1000).toFixed(2)} s: ${(b.peakMB / a.peakMB).toFixed(2)}× for 5× the input`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) console.log((await run()).join('\n'))
