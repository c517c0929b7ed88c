// Capture benchmarks: our reader against a plain read of the same file; capture -> HEP conversion
// against tshark on the same file; the same conversion on a TCP capture (stream reassembly, SIP
// framed by Content-Length) against the UDP one; peak RSS converting a ~1 GB capture.
import { spawnSync } from 'node:child_process'
import { createReadStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CaptureReader } from '../dist/src/pcap/read/index.js'
import { fmt, runMeasured } from './lib.js'
import { generatePcap, generateTcpPcap } from './gen.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/run.js')
const SRC = join(ROOT, 'fixtures/captures/sip-udp.pcap')
const SRC_TCP = join(ROOT, 'fixtures/captures/sip-tcp.pcap')

async function plainRead(file) {
  let n = 0
  for await (const c of createReadStream(file, { highWaterMark: 256 * 1024 })) n += c.length
  return n
}
async function ourRead(file) {
  let n = 0
  for await (const b of new CaptureReader(file).batches()) n += b.length
  return n
}
async function time(fn) {
  const t = process.hrtime.bigint()
  const r = await fn()
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, r }
}

export async function run() {
  const out = []
  const dir = mkdtempSync(join(tmpdir(), 'hep-bench-'))
  try {
    const big = join(dir, 'big.pcap')
    const g = generatePcap(SRC, big, 100 * 1024 * 1024)
    out.push(`capture: ${(g.bytes / 1e6).toFixed(1)} MB, ${g.records} packets (sip-udp.pcap repeated)`)
    // reader vs plain read, interleaved, best of 7
    let plain = Infinity
    let ours = Infinity
    await plainRead(big)
    for (let i = 0; i < 7; i++) {
      plain = Math.min(plain, (await time(() => plainRead(big))).ms)
      ours = Math.min(ours, (await time(() => ourRead(big))).ms)
    }
    const pct = (plain / ours) * 100
    out.push(
      `reader: ${fmt((g.records / ours) * 1000)} records/s, ${(((g.bytes / ours) * 1000) / 1e6).toFixed(0)} MB/s; ` +
        `plain read ${(((g.bytes / plain) * 1000) / 1e6).toFixed(0)} MB/s; ours = ${pct.toFixed(0)} % of plain (target ≥ 70 %: ${pct >= 70 ? 'met' : 'NOT met'})`,
    )
    // conversion: hep convert vs tshark on the same file
    const conv = await runMeasured(process.execPath, [BIN, 'convert', big, join(dir, 'out.hep.pcap'), '-q'])
    if (conv.code !== 0) throw new Error(`hep convert failed: ${conv.stderr}`)
    const ourRate = (g.records / conv.ms) * 1000
    out.push(
      `convert capture -> hep.pcap (CLI, whole run): ${fmt(ourRate)} packets/s, ${(((g.bytes / conv.ms) * 1000) / 1e6).toFixed(0)} MB/s`,
    )
    const tshark = spawnSync('sh', ['-c', 'command -v tshark']).status === 0
    if (tshark) {
      const ts = await runMeasured('tshark', ['-r', big, '-Y', 'sip', '-T', 'fields', '-e', 'sip.Call-ID'])
      const tsRate = (g.records / ts.ms) * 1000
      const ratio = ourRate / tsRate
      out.push(
        `tshark -r F -Y sip -T fields -e sip.Call-ID: ${fmt(tsRate)} packets/s; ratio ${ratio.toFixed(1)}× (target ≥ 10×: ${ratio >= 10 ? 'met' : 'NOT met'})`,
      )
    } else out.push('tshark not installed: conversion ratio not measured')
    rmSync(big)
    rmSync(join(dir, 'out.hep.pcap'), { force: true })
    // TCP: sip-tcp.pcap repeated, every copy a new flow (ports shifted); the same conversion
    const bigTcp = join(dir, 'big-tcp.pcap')
    const gt = generateTcpPcap(SRC_TCP, bigTcp, 100 * 1024 * 1024)
    const msgsUdp = g.records // sip-udp.pcap: one SIP message per packet
    const msgsTcp = (gt.records / 36) * 18 // sip-tcp.pcap: 36 packets, 18 SIP messages
    const tconv = await runMeasured(process.execPath, [
      BIN,
      'convert',
      bigTcp,
      join(dir, 'out-tcp.hep.pcap'),
      '-q',
    ])
    if (tconv.code !== 0) throw new Error(`hep convert (TCP) failed: ${tconv.stderr}`)
    const tcpRate = (gt.records / tconv.ms) * 1000
    const udpMsgRate = (msgsUdp / conv.ms) * 1000
    const tcpMsgRate = (msgsTcp / tconv.ms) * 1000
    const slower = ourRate / tcpRate
    out.push(
      `convert TCP capture -> hep.pcap (${(gt.bytes / 1e6).toFixed(1)} MB, ${gt.records} packets, sip-tcp.pcap repeated as ` +
        `${gt.records / 36} flows): ${fmt(tcpRate)} packets/s (UDP ${fmt(ourRate)}), ${fmt(tcpMsgRate)} SIP messages/s ` +
        `(UDP ${fmt(udpMsgRate)}); UDP/TCP packets/s = ${slower.toFixed(2)}× (target ≤ 2×: ${slower <= 2 ? 'met' : 'NOT met'})`,
    )
    rmSync(bigTcp)
    rmSync(join(dir, 'out-tcp.hep.pcap'), { force: true })
    // peak RSS on ~1 GB
    const huge = join(dir, 'huge.pcap')
    const h = generatePcap(SRC, huge, 1024 * 1024 * 1024)
    const r = await runMeasured(process.execPath, [
      BIN,
      'convert',
      huge,
      '/dev/null',
      '--into',
      'hep-pcap',
      '-q',
    ])
    if (r.code !== 0) throw new Error(`hep convert failed: ${r.stderr}`)
    out.push(
      `convert ${(h.bytes / 1e9).toFixed(2)} GB (${h.records} packets) -> hep-pcap: ${(r.ms / 1000).toFixed(1)} s, ` +
        `${fmt((h.records / r.ms) * 1000)} packets/s, peak RSS ${r.peakMB.toFixed(0)} MB (target < 150 MB: ${r.peakMB < 150 ? 'met' : 'NOT met'})`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) console.log((await run()).join('\n'))
