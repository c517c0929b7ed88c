// RTCP (#12): a capture whose packets are 90 % RTP (a mirror port) against a SIP-only capture, both
// converted to hep.pcap in the same run: RTP must be rejected cheaply, so the RTP-heavy one must
// convert at no fewer packets/s. Also the SIP-only capture with --rtcp off against the default
// (correlated): what reading SDP for the media table costs on the SIP path. CPU time of the child
// (user + system, from /proc/self/stat's cutime/cstime), best of 3, interleaved.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt } from './lib.js'
import { generatePcap, writeCallPcap } from './gen.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/run.js')
const SRC = join(ROOT, 'fixtures/captures/sip-udp.pcap')

function childCpuS() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  return (Number(f[13]) + Number(f[14])) / 100 // cutime, cstime (fields 16, 17)
}
function convertCpu(file, out, extra = []) {
  const before = childCpuS()
  const r = spawnSync(process.execPath, [BIN, 'convert', file, out, '-q', ...extra], { stdio: 'ignore' })
  if (r.status !== 0) throw new Error(`hep convert ${file} failed (${r.status})`)
  return childCpuS() - before
}

export async function run() {
  const out = []
  const dir = mkdtempSync(join(tmpdir(), 'hep-bench-rtcp-'))
  try {
    const call = join(dir, 'call.pcap')
    const perCall = await writeCallPcap(call)
    const media = join(dir, 'media.pcap')
    const sip = join(dir, 'sip.pcap')
    const gm = generatePcap(call, media, 40 * 1024 * 1024)
    const gs = generatePcap(SRC, sip, 40 * 1024 * 1024)
    out.push(
      `captures: RTP-heavy ${gm.records} packets (${perCall}-packet call repeated, 90.5 % RTP), ` +
        `SIP-only ${gs.records} packets (sip-udp.pcap repeated)`,
    )
    const o = join(dir, 'out.hep.pcap')
    const best = { media: Infinity, sip: Infinity, sipOff: Infinity }
    for (let i = 0; i < 3; i++) {
      best.media = Math.min(best.media, convertCpu(media, o))
      best.sip = Math.min(best.sip, convertCpu(sip, o))
      best.sipOff = Math.min(best.sipOff, convertCpu(sip, o, ['--rtcp', 'off']))
    }
    const mRate = gm.records / best.media
    const sRate = gs.records / best.sip
    const ratio = mRate / sRate
    out.push(
      `convert -> hep.pcap, CPU s best of 3: RTP-heavy ${fmt(mRate)} packets/s, SIP-only ${fmt(sRate)} packets/s; ` +
        `ratio ${ratio.toFixed(2)}× (target ≥ 1×: ${ratio >= 1 ? 'met' : 'NOT met'})`,
    )
    const offRate = gs.records / best.sipOff
    out.push(
      `SIP-only, --rtcp correlated (default) vs off: ${fmt(sRate)} vs ${fmt(offRate)} packets/s ` +
        `(--rtcp correlated costs ${(((offRate - sRate) / offRate) * 100).toFixed(1)} %)`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) console.log((await run()).join('\n'))
