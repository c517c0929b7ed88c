// Issue #10 (trust): paths checked before work starts (findings 2, 3, 5), lossy re-encoding told
// (finding 11), bounded input lines and packets that could never be encoded (finding 12).
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { existsSync, linkSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, fixture, hep, packetLines, summaryOf } from '../helpers/cli.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'hep-trust-'))
const NO_STACK = /\n\s+at /

describe('inputs and outputs are checked before work starts (exit 2)', () => {
  it('convert refuses to write its input: same path, through a symbolic link, a hard link; the input is untouched', async () => {
    const d = tmp()
    const input = join(d, 'same.hex')
    const original = readFileSync(fixture('hep/hep-v3.hex'))
    writeFileSync(input, original)
    symlinkSync(input, join(d, 'link.hex'))
    linkSync(input, join(d, 'hard.hex'))
    for (const out of [input, join(d, 'link.hex'), join(d, 'hard.hex')]) {
      const r = await hep(['convert', input, out])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain(`cannot write ${out}: it is the input`)
      expect(r.stderr).not.toMatch(NO_STACK)
      expect(readFileSync(input)).toEqual(original)
    }
  })

  it('convert into a missing folder fails at once naming the output (jsonl, hep-pcap, pcap), creating nothing', async () => {
    const d = tmp()
    for (const name of ['x.jsonl', 'x.hep.pcap', 'x.pcap', 'x.hex']) {
      const out = join(d, 'no-such-dir', name)
      const r = await hep(['convert', fixture('hep/hep-v3.hex'), out])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toBe(
        `hep convert: cannot write ${out}: no such directory (${join(d, 'no-such-dir')})\n`,
      )
    }
    expect(existsSync(join(d, 'no-such-dir'))).toBe(false)
    // a folder as the output
    const r = await hep(['convert', fixture('hep/hep-v3.hex'), d, '--into', 'hex'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`cannot write ${d}: is a directory`)
  })

  it('a missing input leaves an existing output as it was (it is not truncated first)', async () => {
    const d = tmp()
    const out = join(d, 'keep.hex')
    writeFileSync(out, 'precious\n')
    const r = await hep(['convert', join(d, 'missing.hex'), out])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`hep convert: cannot read ${join(d, 'missing.hex')}: no such file\n`)
    expect(readFileSync(out, 'utf8')).toBe('precious\n')
  })

  it('decode, send and replay name a missing or directory input, every one checked before the first packet', async () => {
    const d = tmp()
    const missing = join(d, 'missing.hex')
    // several files: the good first one is not decoded when a later one cannot be read
    const r = await hep(['decode', fixture('hep/hep-v3.hex'), missing, d])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `hep decode: cannot read ${missing}: no such file\nhep decode: cannot read ${d}: is a directory\n`,
    )
    const cases: [string[], string][] = [
      [['send', missing, '--to', '127.0.0.1:9'], `hep send: cannot read ${missing}: no such file`],
      [['send', d, '--to', '127.0.0.1:9'], `hep send: cannot read ${d}: is a directory`],
      [
        ['send', '--payload-file', missing, '--to', '127.0.0.1:9'],
        `hep send: cannot read ${missing}: no such file`,
      ],
      [['replay', missing, '--dry-run'], `hep replay: cannot read ${missing}: no such file`],
      [
        ['replay', fixture('captures/sip-udp.pcap'), d, '--to', '127.0.0.1:9'],
        `hep replay: cannot read ${d}: is a directory`,
      ],
      [['convert', d, join(d, 'x.hex')], `hep convert: cannot read ${d}: is a directory`],
    ]
    for (const [args, message] of cases) {
      const q = await hep(args, { timeoutMs: 10_000 })
      expect(q.code, `${args.join(' ')}: ${q.stderr}`).toBe(2)
      expect(q.stderr).toBe(message + '\n')
      expect(q.stdout).toBe('')
    }
  })

  it('listen --write / --write-hep into a missing folder fails before listening', async () => {
    const d = tmp()
    for (const flag of ['--write', '--write-hep']) {
      for (const name of ['x.pcap', 'x.hex', 'x.hep']) {
        const out = join(d, 'no-such-dir', name)
        const t0 = Date.now()
        const r = await hep(['listen', '--udp', '127.0.0.1:0', flag, out], { timeoutMs: 10_000 })
        expect(r.code, r.stderr).toBe(2)
        expect(r.stderr).toBe(
          `hep listen: cannot write ${out}: no such directory (${join(d, 'no-such-dir')})\n`,
        )
        expect(Date.now() - t0).toBeLessThan(8000)
      }
    }
    const same = join(d, 'both.pcap')
    const r = await hep(['listen', '--udp', '127.0.0.1:0', '--write', same, '--write-hep', same])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`cannot write ${same}: it is also the output ${same}`)
  })
})

describe('lossy re-encoding is told once per kind', () => {
  it('convert --version 2 names authKey and correlationId once each; --version 1 also the time and capture id', async () => {
    const d = tmp()
    const r = await hep(['convert', fixture('hep/hep-v3-extras.hex'), join(d, 'v2.hex'), '--version', '2'])
    expect(r.code).toBe(0)
    const count = (s: string, m: string) => s.split(m).length - 1
    expect(count(r.stderr, 'warning: HEPv2 cannot carry authKey (chunk 0x000e): left out\n')).toBe(1)
    expect(count(r.stderr, 'warning: HEPv2 cannot carry correlationId (chunk 0x0011): left out\n')).toBe(1)
    expect(r.stderr).not.toMatch(/HEPv2 cannot carry the capture time|captureId/)
    const v1 = await hep(['convert', fixture('hep/hep-v3-extras.hex'), join(d, 'v1.hex'), '--version', '1'])
    expect(
      count(v1.stderr, 'warning: HEPv1 cannot carry the capture time (chunks 0x0009/0x000a): left out\n'),
    ).toBe(1)
    expect(count(v1.stderr, 'warning: HEPv1 cannot carry captureId (chunk 0x000c): left out\n')).toBe(1)
    // nothing to tell when nothing is lost
    const v3 = await hep(['convert', fixture('hep/hep-v3-extras.hex'), join(d, 'v3.hex'), '--version', '3'])
    expect(v3.stderr).not.toContain('warning')
  })

  it('send --version 1 of LOG packets says they turn into SIP, once', async () => {
    const sock = createSocket('udp4')
    sock.bind(0, '127.0.0.1')
    await once(sock, 'listening')
    const got: Buffer[] = []
    sock.on('message', (m) => got.push(m))
    const port = sock.address().port
    const line = (n: number) =>
      JSON.stringify({
        version: 3,
        srcIp: '10.0.0.1',
        dstIp: '10.0.0.2',
        srcPort: 1,
        dstPort: 2,
        payloadType: 100,
        payload: `log ${n}`,
      })
    try {
      const r = await hep(['send', '--to', `127.0.0.1:${port}`, '--version', '1', '--from', 'jsonl'], {
        input: [line(1), line(2), line(3)].join('\n') + '\n',
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr.split('HEPv1 has no payload type: LOG (100) packets read back as SIP').length - 1).toBe(
        1,
      )
      for (let i = 0; i < 50 && got.length < 3; i++) await new Promise((res) => setTimeout(res, 20))
      expect(got.map((b) => b[0])).toEqual([1, 1, 1]) // sent as v1 all the same
    } finally {
      sock.close()
    }
  })
})

describe('input lines over a bound, and packets too big ever to be encoded', () => {
  it('decode reports an over-long hex line with its position, skips it and goes on (exit 1)', async () => {
    const d = tmp()
    const lines = readFileSync(fixture('hep/hep-v3.hex'), 'utf8').trim().split('\n')
    const f = join(d, 'long.hex')
    writeFileSync(f, [lines[0], 'ab'.repeat(100 * 1024), lines[1]].join('\n') + '\n')
    const r = await hep(['decode', f, '--json'])
    expect(r.code).toBe(1)
    expect(packetLines(r.stdout)).toHaveLength(2)
    expect(r.stderr).toContain(
      `${f} line 2: a hex line of 204800 bytes, over the 131072-byte bound (a HEP packet is at most 65535 bytes): skipped`,
    )
  })

  it('decode reports a v1 hex packet and a JSON line over 65535 bytes as malformed (exit 1)', async () => {
    const d = tmp()
    // a valid HEPv1 header (IPv4, UDP) and a payload that makes it one byte too big (v1 has no length)
    const v1 = (n: number) => {
      const b = Buffer.alloc(n, 0x41)
      Buffer.from('01100211000100020a0000010a000002', 'hex').copy(b)
      return b
    }
    const f = join(d, 'big.hex')
    writeFileSync(f, v1(65_536).toString('hex') + '\n' + v1(65_535).toString('hex') + '\n')
    const r = await hep(['decode', f])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `${f} line 1: a packet of 65536 bytes, over the 65535 bytes a HEP packet can have: it cannot be encoded`,
    )
    expect(r.stderr).toContain('1 packet decoded, 1 malformed')
    // a raw v1 file is one packet: the whole file
    const raw = join(d, 'big.hep')
    writeFileSync(raw, v1(70_000))
    const q = await hep(['decode', raw])
    expect(q.code).toBe(1)
    expect(q.stderr).toContain(`${raw} byte 0: a packet of 70000 bytes, over the 65535 bytes`)
    const json = JSON.stringify({
      version: 3,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      payload: 'x'.repeat(66_000),
    })
    const j = await hep(['decode', '--from', 'jsonl'], { input: json + '\n' })
    expect(j.code).toBe(1)
    expect(j.stderr).toMatch(
      /stdin line 1: payload: 66000 bytes do not fit in a HEP3 chunk .*: it cannot be encoded/,
    )
    expect(j.stderr).toContain('0 packets decoded, 1 malformed')
  })

  it('a 200 MB JSON line through decode is reported and skipped, and memory stays bounded', async () => {
    const d = tmp()
    // the child reports its peak RSS as it exits
    const hook = join(d, 'rss.cjs')
    writeFileSync(
      hook,
      "process.on('exit', () => process.stderr.write('maxrss ' + process.resourceUsage().maxRSS + '\\n'))\n",
    )
    const child = spawn(process.execPath, ['--require', hook, BIN, 'decode', '--from', 'jsonl', '--json'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    child.stdin.on('error', () => {})
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const ok = (n: number) =>
      JSON.stringify({
        version: 3,
        srcIp: '10.0.0.1',
        dstIp: '10.0.0.2',
        srcPort: n,
        dstPort: 2,
        payload: 'ok',
      }) + '\n'
    const write = async (b: Buffer | string) => {
      if (!child.stdin.write(b)) await once(child.stdin, 'drain')
    }
    // generated as it is written: 1 MiB at a time, 200 MiB in one line
    await write(ok(1))
    await write('{"version":3,"srcIp":"10.0.0.1","dstIp":"10.0.0.2","payload":"')
    const piece = Buffer.alloc(1 << 20, 0x78)
    for (let i = 0; i < 200; i++) await write(piece)
    await write('"}\n')
    await write(ok(3))
    child.stdin.end()
    const code = await exited
    clearTimeout(killer)
    expect(code, err).toBe(1)
    expect(packetLines(out).map((l) => JSON.parse(l).srcPort)).toEqual([1, 3])
    expect(err).toMatch(/stdin line 2: a JSON line of 2097152\d\d bytes, over the 1048576-byte bound/)
    expect(summaryOf(out)).toMatchObject({ packets: 2, malformed: 1 })
    const rssKb = Number(/maxrss (\d+)/.exec(err)?.[1])
    expect(rssKb).toBeGreaterThan(0)
    expect(rssKb / 1024, `peak RSS ${Math.round(rssKb / 1024)} MB`).toBeLessThan(160)
  }, 90_000)
})
