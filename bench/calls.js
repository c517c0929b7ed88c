// hep calls: the per-call summary of an 84,000-message capture (14,000 calls, as the load capture of
// the peers harness), its time and peak RSS, side by side with tshark reading the same fields per
// message; and a capture five times larger, to show that memory does not grow with the input.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
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

async function best(times, cmd, args) {
  let b
  for (let i = 0; i < times; i++) {
    const r = await runMeasured(cmd, args, { stdout: 'pipe' })
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`)
    if (!b || r.ms < b.ms) b = { ...r, peakMB: Math.max(r.peakMB, b?.peakMB ?? 0) }
  }
  return b
}

export async function run() {
  const out = []
  const dir = mkdtempSync(join(tmpdir(), 'hep-bench-calls-'))
  try {
    const big = join(dir, 'calls-84k.pcap')
    const g = makeCapture(big, Math.ceil(84000 / 18))
    out.push(
      `capture: ${(g.bytes / 1e6).toFixed(1)} MB, ${g.records} SIP messages, ${(g.records / 6).toFixed(0)} calls (sip-udp.pcap repeated, Call-IDs made unique)`,
    )
    const ours = await best(3, process.execPath, [BIN, 'calls', big, '--json', '-q'])
    const calls = ours.stdout
      .trimEnd()
      .split('\n')
      .filter((l) => !l.includes('"summary":true')).length
    const tshark = spawnSync('sh', ['-c', 'command -v tshark']).status === 0
    let peer = ''
    if (tshark) {
      const ts = await best(1, 'tshark', [
        '-n',
        '-r',
        big,
        '-Y',
        'sip',
        '-T',
        'fields',
        '-e',
        'sip.Call-ID',
        '-e',
        'sip.Method',
        '-e',
        'sip.Status-Code',
      ])
      const ids = new Set(
        ts.stdout
          .trimEnd()
          .split('\n')
          .map((l) => l.split('\t')[0]),
      )
      peer = `; tshark -Y sip -T fields (Call-ID, method, status per message; one run): ${(ts.ms / 1000).toFixed(2)} s, peak RSS ${ts.peakMB.toFixed(0)} MB, ${ids.size} Call-IDs; tshark/ours = ${(ts.ms / ours.ms).toFixed(1)}×`
    } else peer = '; tshark not installed: no peer figure'
    out.push(
      `hep calls (CLI, whole run, best of 3): ${(ours.ms / 1000).toFixed(2)} s for ${g.records} messages (${fmt((g.records / ours.ms) * 1000)} messages/s), ` +
        `${calls} calls, peak RSS ${ours.peakMB.toFixed(0)} MB (target ≤ 2 s: ${ours.ms <= 2000 ? 'met' : 'NOT met'})${peer}`,
    )
    rmSync(big)
    const bigger = join(dir, 'calls-420k.pcap')
    const g5 = makeCapture(bigger, Math.ceil((84000 * 5) / 18))
    const five = await best(1, process.execPath, [BIN, 'calls', bigger, '--json', '-q'])
    out.push(
      `hep calls of ${g5.records} messages (${(g5.bytes / 1e6).toFixed(0)} MB): ${(five.ms / 1000).toFixed(2)} s, peak RSS ${five.peakMB.toFixed(0)} MB ` +
        `(${(five.peakMB / ours.peakMB).toFixed(2)}× the RSS of the 84,000-message run: finished calls are forgotten)`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) console.log((await run()).join('\n'))
