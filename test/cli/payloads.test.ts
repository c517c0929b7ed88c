// Compressed payloads (chunk 0x0010) as `hep send --compress` writes them, inflated by an independent
// inflater (Python's zlib) and shown, filtered, correlated and decapsulated by hep; --full pinned;
// a hint for each wrong turn; listen's stdout flushed promptly into a pipe.
import { spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { fixture, haveTool, hep, packetLines, start } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'hep-payloads-'))
const METHODS = ['gzip', 'zlib', 'deflate'] as const

/** The chunks of a HEP3 packet: [vendor, type, value]. */
function chunks(b: Buffer): [number, number, Buffer][] {
  expect(b.subarray(0, 4).toString()).toBe('HEP3')
  const out: [number, number, Buffer][] = []
  for (let o = 6; o + 6 <= b.length;) {
    const len = b.readUInt16BE(o + 4)
    out.push([b.readUInt16BE(o), b.readUInt16BE(o + 2), b.subarray(o + 6, o + len)])
    o += len
  }
  return out
}

/** What `hep send FILE --compress METHOD` puts on the wire, datagram by datagram. */
async function sendCompressed(file: string, method: string): Promise<Buffer[]> {
  const rx = createSocket('udp4')
  const got: Buffer[] = []
  rx.on('message', (m) => got.push(m))
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r))
  const s = await hep(['send', file, '--to', `127.0.0.1:${rx.address().port}`, '--compress', method])
  expect(s.code, s.stderr).toBe(0)
  await new Promise((r) => setTimeout(r, 200))
  rx.close()
  return got
}

const original = readFileSync(fixture('hep/hep-v3.hex'), 'utf8').trim().split('\n')
const payloads = original.map((h) => chunks(Buffer.from(h, 'hex')).find((c) => c[1] === 0x000f)![2])
const wire: Record<string, Buffer[]> = {}

beforeAll(async () => {
  for (const m of METHODS) {
    wire[m] = await sendCompressed(fixture('hep/hep-v3.hex'), m)
    writeFileSync(join(dir, `${m}.hex`), wire[m].map((b) => b.toString('hex')).join('\n') + '\n')
  }
}, 30_000)

describe.skipIf(!haveTool('python3'))('hep send --compress: gzip, zlib and raw deflate', () => {
  it.each(METHODS)('%s: chunk 0x0010 instead of 0x000f, inflated by Python to the original payload', (m) => {
    expect(wire[m]).toHaveLength(original.length)
    const compressed = wire[m].map((b) => {
      const c = chunks(b)
      expect(c.some((x) => x[1] === 0x000f)).toBe(false)
      return c.find((x) => x[0] === 0 && x[1] === 0x0010)![2]
    })
    if (m === 'gzip') expect(compressed.every((c) => c[0] === 0x1f && c[1] === 0x8b)).toBe(true)
    if (m === 'zlib')
      expect(compressed.every((c) => (c[0] & 0x0f) === 8 && c.readUInt16BE(0) % 31 === 0)).toBe(true)
    const wbits = m === 'gzip' ? 31 : m === 'zlib' ? 15 : -15
    const py = spawnSync(
      'python3',
      [
        '-c',
        `import sys, zlib\nfor l in sys.stdin: print(zlib.decompress(bytes.fromhex(l.strip()), ${wbits}).hex())`,
      ],
      { input: compressed.map((c) => c.toString('hex')).join('\n') + '\n', encoding: 'utf8' },
    )
    expect(py.status, py.stderr).toBe(0)
    expect(py.stdout.trim().split('\n')).toEqual(payloads.map((p) => p.toString('hex')))
  })
})

describe('compressed payloads read back', () => {
  it.each(METHODS)('%s: decode shows the SIP, the method and its chunk', async (m) => {
    const r = await hep(['decode', join(dir, `${m}.hex`)])
    expect(r.code).toBe(0)
    const first = r.stdout.split('\n')[0]
    expect(first).toBe(
      `#1 2026-11-23T12:39:59.584087Z v3 id 2001 127.0.0.1:5070 → 127.0.0.1:5060 UDP SIP [${m}] INVITE sip:service@127.0.0.1:5060 SIP/2.0`,
    )
    const c = await hep(['decode', join(dir, `${m}.hex`), '--chunks'])
    expect(c.stdout).toMatch(
      new RegExp(`compressedPayload +│ +\\d+ +│ ${m}, ${payloads[0].length} bytes inflated: INVITE`),
    )
  })

  it('filters see the inflated payload: --method, --grep, --call-id', async () => {
    const plain = await hep(['decode', fixture('hep/hep-v3.hex'), '--json', '--method', 'BYE'])
    const comp = await hep(['decode', join(dir, 'zlib.hex'), '--json', '--method', 'BYE'])
    expect(packetLines(comp.stdout).length).toBe(packetLines(plain.stdout).length)
    expect(packetLines(plain.stdout).length).toBeGreaterThan(0)
    const grep = await hep(['decode', join(dir, 'gzip.hex'), '--grep', 'Ringing'])
    expect(
      grep.stdout
        .trim()
        .split('\n')
        .every((l) => l.includes('180 Ringing')),
    ).toBe(true)
    const callId = /Call-ID: (.*)\r/.exec(payloads[0].toString())![1]
    const one = await hep(['decode', join(dir, 'deflate.hex'), '--json', '--call-id', callId])
    expect(packetLines(one.stdout).length).toBe(
      payloads.filter((p) => p.toString().includes(`Call-ID: ${callId}\r`)).length,
    )
  })

  it('--correlation-id auto takes the Call-ID of the inflated payload', async () => {
    const r = await hep([
      'convert',
      join(dir, 'gzip.hex'),
      '-',
      '--into',
      'jsonl',
      '--correlation-id',
      'auto',
      '-q',
    ])
    const got = packetLines(r.stdout).map((l) => JSON.parse(l).correlationId)
    expect(got).toEqual(payloads.map((p) => /Call-ID: (.*)\r/.exec(p.toString())![1]))
  })

  it('HEP -> pcap writes the inflated message; the JSON form stays lossless', async () => {
    const pcap = join(dir, 'back.pcap')
    expect((await hep(['convert', join(dir, 'deflate.hex'), pcap, '-q'])).code).toBe(0)
    const back = await hep(['convert', pcap, '-', '--into', 'jsonl', '-q'])
    expect(packetLines(back.stdout).map((l) => JSON.parse(l).payload)).toEqual(
      payloads.map((p) => p.toString()),
    )
    const json = await hep(['decode', join(dir, 'zlib.hex'), '--json'])
    expect(JSON.parse(packetLines(json.stdout)[0]).compressedPayload).toBeDefined()
    const again = await hep(['convert', '-', '-', '--from', 'jsonl', '--into', 'hex', '-q'], {
      input: json.stdout,
    })
    expect(again.stdout).toBe(readFileSync(join(dir, 'zlib.hex'), 'utf8'))
  })

  it('--compress with --version 2 is a usage error', async () => {
    const r = await hep([
      'send',
      fixture('hep/hep-v3.hex'),
      '--to',
      '127.0.0.1:9',
      '--compress',
      'gzip',
      '--version',
      '2',
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--compress needs HEP version 3')
  })
})

describe('--full', () => {
  it('pinned: SIP with its headers and body, JSON pretty-printed, binary as hex', async () => {
    const sip =
      'INVITE sip:bob@b SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 10\r\n\r\nv=0\r\ns=-\r\n'
    const from = {
      version: 3,
      protocolFamily: 2,
      protocol: 17,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      srcPort: 5060,
      dstPort: 5060,
      timeSeconds: 1795437600,
    }
    const lines = [
      { ...from, timeUseconds: 0, payloadType: 1, payload: sip },
      { ...from, timeUseconds: 1, payloadType: 100, payload: '{"a":1,"b":[2,3]}' },
      { ...from, timeUseconds: 2, payloadType: 5 },
    ]
    const jsonl = lines.map((l) => JSON.stringify(l)).join('\n') + '\n'
    const r = await hep(['decode', '--from', 'jsonl', '--full'], { input: jsonl })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(
      '#1 2026-11-23T12:40:00.000000Z v3 10.0.0.1:5060 → 10.0.0.2:5060 UDP SIP INVITE sip:bob@b SIP/2.0\n' +
        '  INVITE sip:bob@b SIP/2.0\n' +
        '  Call-ID: c1\n' +
        '  CSeq: 1 INVITE\n' +
        '  Content-Length: 10\n' +
        '  \n' +
        '  v=0\n' +
        '  s=-\n' +
        '\n' +
        '#2 2026-11-23T12:40:00.000001Z v3 10.0.0.1:5060 → 10.0.0.2:5060 UDP LOG {"a":1,"b":[2,3]}\n' +
        '  {\n' +
        '    "a": 1,\n' +
        '    "b": [\n' +
        '      2,\n' +
        '      3\n' +
        '    ]\n' +
        '  }\n' +
        '\n' +
        '#3 2026-11-23T12:40:00.000002Z v3 10.0.0.1:5060 → 10.0.0.2:5060 UDP RTCP (no payload)\n' +
        '  (no payload)\n' +
        '\n',
    )
  })
})

describe('hints where a user took the wrong turn', () => {
  it('send of a SIP capture: use replay', async () => {
    const r = await hep(['send', 'fixtures/captures/sip-udp.pcap', '--to', '127.0.0.1:9'])
    expect(r.stderr).toBe(
      'fixtures/captures/sip-udp.pcap: 18 records; skipped: 18 SIP (not HEP)\n' +
        'hint: fixtures/captures/sip-udp.pcap holds plain SIP, not HEP; to send it as HEP use replay: hep replay fixtures/captures/sip-udp.pcap --to 127.0.0.1:9\n' +
        '0 packets: 0 sent, 0 failed, 0 dropped\n',
    )
  })

  it('replay of a HEP capture: use send (or decode)', async () => {
    const r = await hep(['replay', 'fixtures/captures/hep-v3.pcap', '--dry-run'])
    expect(r.stderr).toContain(
      'hint: fixtures/captures/hep-v3.pcap carries HEP, not plain SIP; hep send fixtures/captures/hep-v3.pcap --to HOST:9060 sends its HEP packets as they are, hep decode fixtures/captures/hep-v3.pcap shows them\n',
    )
    expect(r.stderr).toMatch(/skipped: HEP \(not SIP\)\s+│ 39 /)
  })

  it('a capture cut by its snapshot length: capture the whole packet', async () => {
    for (const args of [
      ['replay', fixture('captures/edge-sip-udp-snaplen128.pcap'), '--dry-run'],
      ['convert', fixture('captures/edge-sip-udp-snaplen128.pcap'), join(dir, 'cut.jsonl')],
    ]) {
      const r = await hep(args)
      expect(r.stderr).toContain(
        "hint: 18 frames were cut short by the capture's snapshot length; capture the whole packet: tcpdump -s 0, or dumpcap or tshark without -s\n",
      )
    }
  })

  it('a file that is neither a capture nor HEP: one line that says so', async () => {
    const r = await hep(['decode', 'README.md'])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      'hep decode: README.md: neither HEP nor a capture (it starts with text: "# hep"); hep reads HEP as raw, hex or JSON lines, and pcap/pcapng captures\n',
    )
  })

  it('decode of a SIP capture: replay shows it as HEP', async () => {
    const r = await hep(['decode', 'fixtures/captures/sip-udp.pcap'])
    expect(r.stderr).toContain('hint: fixtures/captures/sip-udp.pcap holds plain SIP, not HEP; hep replay')
  })
})

describe('listen into a pipe', () => {
  it('each line reaches the reader as its packet arrives, also when traffic is slow', async () => {
    const l = start(['listen', '--udp', '127.0.0.1:0', '--json'])
    const port = Number((await l.waitFor(/listening on udp [^ ]+:(\d+)/))[1])
    const tx = createSocket('udp4')
    for (let i = 1; i <= 3; i++) {
      const t0 = Date.now()
      await new Promise<void>((r) => tx.send(Buffer.from(original[i], 'hex'), port, '127.0.0.1', () => r()))
      // stdout is a pipe here: the line is there at once, not when a buffer fills
      while (packetLines(l.stdout()).length < i && Date.now() - t0 < 2000)
        await new Promise((r) => setTimeout(r, 10))
      expect(Date.now() - t0).toBeLessThan(1000)
      await new Promise((r) => setTimeout(r, 500))
    }
    tx.close()
    l.child.kill('SIGINT')
    expect(await l.exited).toBe(0)
    expect(packetLines(l.stdout())).toHaveLength(3)
  })
})
