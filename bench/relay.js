// Relay benchmark: `hep listen --udp … --to udp://…` (the relay, byte for byte) against a plain Node
// UDP-to-UDP forwarder, in the same run: a blaster offers packets flat out for a few seconds to
// each, a counting socket behind it counts what came through. Loopback only.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt, freePort, proc } from './lib.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/run.js')
const TOOLS = join(ROOT, 'bench/udp-tools.js')
const HEX = join(ROOT, 'fixtures/hep/hep-v3.hex')

/** Offers packets flat out for `secs` to the forwarder (`hep` or `plain`); what reached the sink, per second. */
async function through(kind, secs, pps = 0) {
  const [sinkPort, inPort] = [freePort(), freePort()]
  const sink = proc([TOOLS, 'count', String(sinkPort)])
  await sink.waitFor(/ready/, 'stdout')
  const fwd =
    kind === 'plain'
      ? proc([TOOLS, 'forward', String(inPort), '-', String(sinkPort)])
      : proc([
          ...[BIN, 'listen', '--udp', `127.0.0.1:${inPort}`, '--to', `udp://127.0.0.1:${sinkPort}`],
          ...['--quiet', '--recv-buffer', String(8 * 1024 * 1024), '--queue-limit', '10000'],
        ])
  if (kind === 'plain') await fwd.waitFor(/ready/, 'stdout')
  else await new Promise((r) => setTimeout(r, 1500)) // --quiet: no "listening" line
  const b = proc([TOOLS, 'blast', String(inPort), HEX, String(pps), String(secs)])
  await b.exited
  const sent = Number(b.out().trim())
  await new Promise((r) => setTimeout(r, 500))
  fwd.child.kill(kind === 'plain' ? 'SIGTERM' : 'SIGINT')
  await fwd.exited
  sink.child.kill('SIGTERM')
  await sink.exited
  const got = Number(sink.out().trim().split('\n').pop().split(' ')[0])
  return { offered: sent / secs, delivered: got / secs, sent, got }
}

export async function run() {
  const secs = 3
  const out = []
  for (let round = 1; round <= 2; round++) {
    const plain = await through('plain', secs)
    const ours = await through('hep', secs)
    out.push(
      `round ${round}: relay UDP -> UDP ${fmt(ours.delivered)} packets/s delivered (offered ${fmt(ours.offered)}/s); ` +
        `plain Node forwarder ${fmt(plain.delivered)}/s (offered ${fmt(plain.offered)}/s); ratio ${(ours.delivered / plain.delivered).toFixed(2)}`,
    )
  }
  // paced below both: does the relay lose anything at a rate it can take?
  const paced = await through('hep', 5, 20000)
  out.push(
    `relay at 20,000 packets/s offered for 5 s: sent ${paced.sent}, delivered ${paced.got}, lost ${paced.sent - paced.got}`,
  )
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) console.log((await run()).join('\n'))
