/**
 * `hep listen` as a long-running capture point, with real processes on loopback: --dedup with two
 * senders of the same packets, rotation of --write / --write-hep under load read back by tshark, and
 * --metrics scraped, parsed and compared with the summary.
 */
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { encode } from '../../src/index.js'
import {
  fixture,
  haveTool,
  hep,
  start as startHep,
  type Running,
  packetLines,
  summaryOf,
} from '../helpers/cli.js'
import { sipPacket } from '../net/helpers.js'

/** a long-running hep; UDP listeners get a 4 MiB receive buffer (a loaded machine drops less) */
const start = (args: string[]) =>
  startHep(args.includes('--udp') ? [...args, '--recv-buffer', '4194304'] : args)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Polls until `cond` holds, for at most `ms` (a loaded machine is slow; a fixed sleep flakes). */
async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  for (const t0 = Date.now(); !cond() && Date.now() - t0 < ms;) await sleep(50)
}
const port = async (r: Running, t: string) =>
  Number((await r.waitFor(new RegExp(`listening on ${t} [^ ]+:(\\d+)`)))[1])
const stop = (r: Running) => {
  r.child.kill('SIGINT')
  return r.exited
}

function packets(n: number, tag = 'a', extra: Parameters<typeof sipPacket>[1] = {}): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    encode(
      sipPacket(
        `MESSAGE sip:x@y SIP/2.0\r\nCall-ID: ${tag}-${i}\r\nCSeq: 1 MESSAGE\r\n\r\n${'b'.repeat(60)}`,
        {
          timeSeconds: 1_700_000_000 + i,
          ...extra,
        },
      ),
    ),
  )
}

/** Sends each list from its own socket, interleaved, a few at a time. */
async function sendFrom(port: number, lists: Buffer[][], perTick = 10): Promise<void> {
  const socks = lists.map(() => createSocket('udp4'))
  const n = Math.max(...lists.map((l) => l.length))
  for (let i = 0; i < n; i += perTick) {
    const sends: Promise<void>[] = []
    lists.forEach((l, k) => {
      for (const b of l.slice(i, i + perTick))
        sends.push(new Promise((r) => socks[k].send(b, port, '127.0.0.1', () => r())))
    })
    await Promise.all(sends)
    await sleep(4)
  }
  for (const s of socks) s.close()
}

describe('hep listen --dedup', () => {
  it('two senders of the same packets with --dedup 500: one copy of each; a later repeat or another port is not a duplicate', async () => {
    const l = start(['listen', '--udp', '127.0.0.1:0', '--dedup', '500', '--json'])
    const p = await port(l, 'udp')
    const same = packets(200)
    await sendFrom(p, [same, same])
    // the same payload to another port, and the same packet 2 s later (HEP time): both kept
    const other = encode(sipPacket('MESSAGE sip:x@y SIP/2.0\r\nCall-ID: a-0\r\n\r\n', { dstPort: 5099 }))
    const later = packets(1, 'a', { timeSeconds: 1_700_000_002 })[0]
    const first = packets(1, 'a')[0]
    await sendFrom(p, [[other, first, later]])
    // `later` shown: every datagram before it was read (one socket queue, sent in order)
    await until(() => packetLines(l.stdout()).length >= 202)
    expect(await stop(l)).toBe(0)
    const lines = packetLines(l.stdout()).map((x) => JSON.parse(x))
    expect(lines).toHaveLength(202)
    const calls = lines.map((j) => /Call-ID: (\S+)/.exec(j.payload)![1])
    expect(new Set(calls.slice(0, 200)).size).toBe(200)
    expect(summaryOf(l.stdout())).toMatchObject({ received: 403, shown: 202, filtered: 0, deduplicated: 201 })
  })
})

describe('rotation of --write and --write-hep', () => {
  it.runIf(haveTool('tshark'))(
    'under load, by size and by time: every file is complete (tshark reads it), names carry the start time, none lost across a rotation',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hep-rot-'))
      const l = start([
        'listen',
        '--udp',
        '127.0.0.1:0',
        '--write',
        join(dir, 'sip.pcap'),
        '--write-hep',
        join(dir, 'hep.pcap'),
        '--rotate-size',
        '32k',
        '--rotate-seconds',
        '1',
      ])
      const p = await port(l, 'udp')
      const all = packets(600)
      // about 2.5 s of traffic: rotations by size and by time
      for (let i = 0; i < 3; i++) {
        await sendFrom(p, [all.slice(i * 200, i * 200 + 200)])
        await sleep(800)
      }
      expect(await stop(l)).toBe(0)
      const files = readdirSync(dir).sort()
      const sip = files.filter((f) => /^sip-\d{8}T\d{6}\.\d{3}Z(-\d+)?\.pcap$/.test(f))
      const hepFiles = files.filter((f) => /^hep-\d{8}T\d{6}\.\d{3}Z(-\d+)?\.pcap$/.test(f))
      expect(sip.length).toBeGreaterThan(3)
      expect(hepFiles.length).toBeGreaterThan(3)
      // every file read by tshark (in parallel: its start is slow)
      const frames = (f: string, field: string) =>
        new Promise<string[]>((resolve) => {
          const t = spawn('tshark', ['-r', join(dir, f), '-T', 'fields', '-e', field])
          let out = ''
          let err = ''
          t.stdout.on('data', (d: Buffer) => (out += d.toString()))
          t.stderr.on('data', (d: Buffer) => (err += d.toString()))
          t.on('close', (code) => {
            expect(code, `${f}: ${err}`).toBe(0)
            expect(err).not.toMatch(/cut short|damaged|corrupt/i)
            resolve(out.trim() === '' ? [] : out.trim().split('\n'))
          })
        })
      const ids = (await Promise.all(sip.map((f) => frames(f, 'sip.Call-ID')))).flat()
      expect(ids).toHaveLength(600)
      expect(new Set(ids).size).toBe(600)
      const hepCount = (await Promise.all(hepFiles.map((f) => frames(f, 'frame.number')))).flat().length
      expect(hepCount).toBe(600)
    },
  )

  it('--rotate-keep 2 keeps the newest two files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-rot-'))
    const l = start([
      'listen',
      '--udp',
      '127.0.0.1:0',
      '--write-hep',
      join(dir, 'h.raw'),
      '--rotate-size',
      '4k',
      '--rotate-keep',
      '2',
    ])
    const p = await port(l, 'udp')
    await sendFrom(p, [packets(300)])
    // until the last packet is in the newest file (files come and go meanwhile)
    const newestHas = (text: string) => {
      try {
        const newest = readdirSync(dir).sort().at(-1)
        return newest !== undefined && readFileSync(join(dir, newest), 'latin1').includes(text)
      } catch {
        return false
      }
    }
    await until(() => newestHas('Call-ID: a-299\r\n'))
    expect(await stop(l)).toBe(0)
    const files = readdirSync(dir).sort()
    expect(files).toHaveLength(2)
    // the newest: the last packet is in the last file
    const last = await hep(['decode', join(dir, files[1]), '--json'])
    expect(last.stdout).toContain('a-299')
  })
})

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

function parseMetrics(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    expect(m, line).not.toBeNull()
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m![2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v
    out.push({ name: m![1], labels, value: Number(m![3]) })
  }
  return out
}

const sum = (s: Sample[], name: string, where: Record<string, string> = {}) =>
  s
    .filter((x) => x.name === name && Object.entries(where).every(([k, v]) => x.labels[k] === v))
    .reduce((n, x) => n + x.value, 0)

describe('hep listen --metrics', () => {
  it('a Prometheus scrape parses, and its counters equal the summary', async () => {
    const rx = start(['listen', '--udp', '127.0.0.1:0'])
    const rxPort = await port(rx, 'udp')
    const l = start([
      'listen',
      '--udp',
      '127.0.0.1:0',
      '--tcp',
      '127.0.0.1:0',
      '--dedup',
      '500',
      '--to',
      `127.0.0.1:${rxPort}`,
      '--metrics',
      '127.0.0.1:0',
      '--capture-id',
      '2001',
    ])
    const up = await port(l, 'udp')
    const tp = await port(l, 'tcp')
    const mp = Number((await l.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
    const good = packets(120)
    const dups = good.slice(0, 10)
    const otherId = packets(7, 'o', { captureId: 9 })
    await sendFrom(up, [good, dups, otherId, [Buffer.from('not hep'), Buffer.from('HEP3 bad')]])
    // a TCP connection that sends 5 packets and closes
    await new Promise<void>((resolve) => {
      const c = connect(tp, '127.0.0.1', () => c.end(Buffer.concat(packets(5, 't'))))
      c.on('close', () => resolve())
    })
    await sleep(400)
    const res = await fetch(`http://127.0.0.1:${mp}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const s = parseMetrics(await res.text())
    expect(await stop(l)).toBe(0)
    await stop(rx)
    const err = l.stderr()
    const m =
      /listened [\d.]+ s: (\d+) packets \((\d+) shown, (\d+) filtered out, (\d+) duplicates\), (\d+) malformed/.exec(
        err,
      )
    expect(m, err).not.toBeNull()
    const [received, shown, filtered, duplicates, malformed] = m!.slice(1).map(Number)
    expect([received, shown, filtered, duplicates, malformed]).toEqual([142, 125, 7, 10, 2])
    expect(sum(s, 'hep_packets_received_total')).toBe(received)
    expect(sum(s, 'hep_packets_received_total', { transport: 'tcp' })).toBe(5)
    expect(sum(s, 'hep_packets_received_total', { capture_id: '9', payload_type: '1' })).toBe(7)
    expect(sum(s, 'hep_packets_shown_total')).toBe(shown)
    expect(sum(s, 'hep_packets_filtered_total')).toBe(filtered)
    expect(sum(s, 'hep_packets_deduplicated_total')).toBe(duplicates)
    expect(sum(s, 'hep_packets_malformed_total', { transport: 'udp' })).toBe(malformed)
    expect(sum(s, 'hep_connections_accepted_total', { transport: 'tcp' })).toBe(1)
    expect(sum(s, 'hep_connections_closed_total', { reason: 'peer' })).toBe(1)
    const relayed = /relayed to udp:\/\/[^ ]+: (\d+) packets: (\d+) sent, (\d+) failed, (\d+) dropped/.exec(
      err,
    )
    expect(relayed, err).not.toBeNull()
    expect(sum(s, 'hep_relay_packets_total')).toBe(Number(relayed![1]))
    expect(sum(s, 'hep_relay_sent_total')).toBe(Number(relayed![2]))
    expect(sum(s, 'hep_relay_send_failures_total')).toBe(0)
    expect(sum(s, 'hep_relay_up')).toBe(1)
    expect(sum(s, 'hep_relay_queue_depth')).toBe(0)
    expect(s.some((x) => x.name === 'hep_packets_dropped_total' && x.labels.by === 'us')).toBe(true)
  })
})

describe('hep replay --metrics', () => {
  it('serves the packets handed out by capture id and payload type, and the destination state, while it replays', async () => {
    const rx = start(['listen', '--udp', '127.0.0.1:0', '--json'])
    const rxPort = await port(rx, 'udp')
    const r = start([
      ...['replay', fixture('captures/sip-udp.pcapng'), '--to', `127.0.0.1:${rxPort}`],
      ...['--pps', '12', '--capture-id', '4321', '--metrics', '127.0.0.1:0'],
    ])
    const mp = Number((await r.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
    await sleep(900)
    const s = parseMetrics(await (await fetch(`http://127.0.0.1:${mp}/metrics`)).text())
    const out = sum(s, 'hep_packets_out_total', { capture_id: '4321', payload_type: '1' })
    expect(out).toBeGreaterThan(3)
    expect(out).toBeLessThan(18)
    expect(sum(s, 'hep_packets_out_total')).toBe(out)
    expect(sum(s, 'hep_send_sent_total')).toBeLessThanOrEqual(out)
    expect(sum(s, 'hep_send_sent_total')).toBeGreaterThan(0)
    expect(sum(s, 'hep_send_failures_total')).toBe(0)
    expect(sum(s, 'hep_send_up', { destination: `udp://127.0.0.1:${rxPort}` })).toBe(1)
    expect(await r.exited).toBe(0)
    expect(r.stderr()).toMatch(/packets sent\D+18/)
    await stop(rx)
  })
})
