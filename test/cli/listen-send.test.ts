import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decode, encode } from '../../src/index.js'
import { BIN, ROOT, fixture, haveTool, hep, start, packetLines, summaryOf } from '../helpers/cli.js'

const hexLines = (name: string) =>
  readFileSync(fixture(`hep/${name}`), 'utf8')
    .trim()
    .split('\n')
const port = async (r: ReturnType<typeof start>, t: string) =>
  Number((await r.waitFor(new RegExp(`listening on ${t} [^ ]+:(\\d+)`)))[1])

describe('hep send -> hep listen', () => {
  it('v1, v2 and v3 over UDP arrive intact: listen --json re-encodes to the bytes that were sent', async () => {
    for (const name of ['hep-v1.hex', 'hep-v2-sngrep.hex', 'hep-v3-extras.hex']) {
      const n = hexLines(name).length
      const l = start(['listen', '--udp', '127.0.0.1:0', '--json', '--count', String(n)])
      const p = await port(l, 'udp')
      const s = await hep(['send', fixture(`hep/${name}`), '--to', `127.0.0.1:${p}`])
      expect(s.code).toBe(0)
      expect(s.stderr).toContain(`${n} packets: ${n} sent, 0 failed, 0 dropped`)
      expect(await l.exited).toBe(0)
      const lines = packetLines(l.stdout())
      expect(lines).toHaveLength(n)
      expect(JSON.parse(lines[0]).via).toMatchObject({ transport: 'udp' })
      const back = await hep(['convert', '-', '-', '--from', 'jsonl', '--into', 'hex', '-q'], {
        input: l.stdout(),
      })
      expect(back.stdout.trimEnd().split('\n').sort()).toEqual(hexLines(name).sort())
    }
  })

  it('the pipeline listen --json | send --to tcp:// | listen delivers every packet with the options applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-pipe-'))
    const last = start(['listen', '--tcp', '127.0.0.1:0', '--json', '--count', '39'])
    const tcpPort = await port(last, 'tcp')
    // first listener piped into a sender, as a shell pipeline
    const pipe = spawn(
      'sh',
      [
        '-c',
        `node "${BIN}" listen --udp 127.0.0.1:0 --json --count 39 2>"${dir}/l1.err" | node "${BIN}" send --to tcp://127.0.0.1:${tcpPort} --capture-id 4000 2>"${dir}/s.err"`,
      ],
      { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' } },
    )
    const pipeDone = new Promise((r) => pipe.on('close', r))
    let udpPort = 0
    for (let i = 0; i < 100 && !udpPort; i++) {
      await new Promise((r) => setTimeout(r, 50))
      const m = /listening on udp [^ ]+:(\d+)/.exec(safeRead(`${dir}/l1.err`))
      if (m) udpPort = Number(m[1])
    }
    expect(udpPort).toBeGreaterThan(0)
    expect((await hep(['send', fixture('hep/hep-v3.hex'), '--to', `127.0.0.1:${udpPort}`])).code).toBe(0)
    await pipeDone
    expect(await last.exited).toBe(0)
    const got = packetLines(last.stdout()).map((l) => JSON.parse(l))
    expect(got).toHaveLength(39)
    expect(got.every((g) => g.captureId === 4000 && g.via.transport === 'tcp')).toBe(true)
    const sent = packetLines((await hep(['decode', fixture('hep/hep-v3.hex'), '--json'])).stdout).map((l) =>
      JSON.parse(l),
    )
    expect(got.map((g) => g.payload).sort()).toEqual(sent.map((s) => s.payload).sort())
    expect(readFileSync(`${dir}/s.err`, 'utf8')).toContain('39 packets: 39 sent, 0 failed, 0 dropped')
  })

  it('SIGINT flushes --write: the pcap opens in tshark with every packet received, exit 0, summary printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-sig-'))
    const l = start([
      'listen',
      '--udp',
      '127.0.0.1:0',
      '--write',
      join(dir, 'calls.pcap'),
      '--write-hep',
      join(dir, 'hep.pcap'),
    ])
    const p = await port(l, 'udp')
    expect((await hep(['send', fixture('hep/hep-v2.hex'), '--to', `127.0.0.1:${p}`])).code).toBe(0)
    await l.waitFor(/SIP/, 'stdout')
    await new Promise((r) => setTimeout(r, 300))
    l.child.kill('SIGINT')
    expect(await l.exited).toBe(0)
    expect(l.stderr()).toMatch(/listened [\d.]+ s: 39 packets/)
    const again = await hep(['decode', join(dir, 'hep.pcap'), '--json'])
    expect(packetLines(again.stdout)).toHaveLength(39)
    if (haveTool('tshark')) {
      const t = spawnSync(
        'tshark',
        ['-r', join(dir, 'calls.pcap'), '-Y', 'sip', '-T', 'fields', '-e', 'sip.Call-ID'],
        { encoding: 'utf8' },
      )
      expect(t.stdout.trim().split('\n')).toHaveLength(39)
    }
  })

  it('hostile datagrams are reported while an honest sender loses nothing', async () => {
    const l = start(['listen', '--udp', '127.0.0.1:0', '--json', '--count', '39'])
    const p = await port(l, 'udp')
    const dgram = await import('node:dgram')
    const sock = dgram.createSocket('udp4')
    for (const junk of [Buffer.from('garbage'), Buffer.from('484550330fff', 'hex'), Buffer.alloc(3)]) {
      await new Promise<void>((r) => sock.send(junk, p, '127.0.0.1', () => r()))
    }
    sock.close()
    expect((await hep(['send', fixture('hep/hep-v3.hex'), '--to', `127.0.0.1:${p}`])).code).toBe(0)
    expect(await l.exited).toBe(0)
    expect(packetLines(l.stdout())).toHaveLength(39)
    expect(summaryOf(l.stdout())).toMatchObject({ received: 39, shown: 39, malformed: 3 })
  })

  it('--balance call-id keeps each call on one destination; without it every destination gets every packet', async () => {
    // 20 calls of 2 messages each, as JSON lines on stdin
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        version: 3,
        srcIp: '10.0.0.1',
        dstIp: '10.0.0.2',
        srcPort: 5060,
        dstPort: 5060,
        payload: `${i % 2 ? 'BYE' : 'INVITE'} sip:b@x SIP/2.0\r\nCall-ID: call-${i >> 1}\r\nCSeq: 1 INVITE\r\n\r\n`,
      }),
    ).join('\n')
    const callsOf = (out: string) =>
      packetLines(out).map((l) => /Call-ID: (call-\d+)/.exec(JSON.parse(l).payload)![1])
    for (const balance of [true, false]) {
      // stopped by Ctrl-C once the packets are in (a --duration could end before a slow `send` starts)
      const ls = [1, 2].map(() => start(['listen', '--udp', '127.0.0.1:0', '--json']))
      const ports = await Promise.all(ls.map((l) => port(l, 'udp')))
      const s = await hep(
        [
          'send',
          '-',
          ...ports.flatMap((p) => ['--to', `127.0.0.1:${p}`]),
          ...(balance ? ['--balance', 'call-id'] : []),
        ],
        { input: lines + '\n' },
      )
      expect(s.code).toBe(0)
      const lineCount = () => ls.reduce((n, l) => n + l.stdout().split('\n').filter(Boolean).length, 0)
      for (let t0 = Date.now(); lineCount() < (balance ? 40 : 80) && Date.now() - t0 < 10_000;)
        await new Promise((r) => setTimeout(r, 20))
      for (const l of ls) l.child.kill('SIGINT')
      for (const l of ls) expect(await l.exited).toBe(0)
      const got = ls.map((l) => callsOf(l.stdout()))
      if (!balance) {
        expect(got.map((g) => g.length)).toEqual([40, 40])
        continue
      }
      expect(got[0].length + got[1].length).toBe(40)
      expect(got[0].length).toBeGreaterThan(0)
      expect(got[1].length).toBeGreaterThan(0)
      // no call on both, and both messages of each call on the same one
      const a = new Set(got[0])
      expect(got[1].filter((c) => a.has(c))).toEqual([])
      for (const g of got) for (const c of new Set(g)) expect(g.filter((x) => x === c)).toHaveLength(2)
    }
  })

  it('--time-byte-order be reads big-endian v2 times and sends them the usual (little-endian) way', async () => {
    const le = hexLines('hep-v2.hex').slice(0, 3)
    const dir = mkdtempSync(join(tmpdir(), 'hep-be-'))
    const file = join(dir, 'be.hex')
    const be = le.map((h) => encode(decode(Buffer.from(h, 'hex')), undefined, 0, { timeByteOrder: 'be' }))
    expect(be[0].toString('hex')).not.toBe(le[0])
    writeFileSync(file, be.map((b) => b.toString('hex')).join('\n') + '\n')
    const l = start(['listen', '--udp', '127.0.0.1:0', '--json', '--count', '3'])
    const p = await port(l, 'udp')
    expect((await hep(['send', file, '--time-byte-order', 'be', '--to', `127.0.0.1:${p}`])).code).toBe(0)
    expect(await l.exited).toBe(0)
    const back = await hep(['convert', '-', '-', '--from', 'jsonl', '--into', 'hex', '-q'], {
      input: l.stdout(),
    })
    expect(back.stdout.trimEnd().split('\n').sort()).toEqual([...le].sort())
  })

  it('a message over the UDP datagram limit fails with advice to use TCP', async () => {
    const r = await hep(['send', '--to', '127.0.0.1:9', '--payload', 'x'.repeat(65_420)])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/tcp/i)
  })

  it('a destination that refuses is a network error (exit 3) with the reason', async () => {
    const r = await hep(
      ['send', fixture('hep/hep-v3.hex'), '--to', 'tcp://127.0.0.1:1', '--connect-timeout', '500'],
      { timeoutMs: 20000 },
    )
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/connection refused/)
    expect(r.stderr).toContain('39 packets: 0 sent, 39 failed, 0 dropped')
  })
})

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}
