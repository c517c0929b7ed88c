/**
 * The parts of `hep capture` that need no interface: engine selection on a PATH we make, the
 * engines' arguments, their failures as messages a user can act on (the texts are the real ones
 * tcpdump 4.99 and dumpcap 4.0 print), their closing drop counts, the BPF filter (compiled and run
 * by the real tcpdump against a capture) and the pcapng interface statistics block.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildFilter } from '../../src/live/bpf.js'
import {
  CaptureSetupError,
  engineArgs,
  engineFailure,
  enginesToTry,
  parseEngineDrops,
} from '../../src/live/engine.js'
import { CaptureParser, CaptureReader } from '../../src/pcap/read/index.js'
import { fixture, haveTool } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'hep-engine-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function fakeBin(sub: string, names: string[]): string {
  const d = join(dir, sub)
  spawnSync('mkdir', ['-p', d])
  for (const n of names) {
    writeFileSync(join(d, n), '#!/bin/sh\nexit 0\n')
    chmodSync(join(d, n), 0o755)
  }
  return d
}

describe('engine selection', () => {
  it('auto: tcpdump first (immediate mode), then dumpcap; one asked for by name', () => {
    const both = fakeBin('both', ['tcpdump', 'dumpcap'])
    expect(enginesToTry('auto', both).map((e) => e.name)).toEqual(['tcpdump', 'dumpcap'])
    expect(enginesToTry('auto', both)[0].path).toBe(join(both, 'tcpdump'))
    expect(enginesToTry('dumpcap', both).map((e) => e.name)).toEqual(['dumpcap'])
    const onlyDumpcap = fakeBin('dc', ['dumpcap'])
    expect(enginesToTry('auto', `${join(dir, 'nothing')}:${onlyDumpcap}`).map((e) => e.name)).toEqual([
      'dumpcap',
    ])
  })

  it('a file that is not executable is not an engine', () => {
    const d = join(dir, 'noexec')
    spawnSync('mkdir', ['-p', d])
    writeFileSync(join(d, 'tcpdump'), '')
    chmodSync(join(d, 'tcpdump'), 0o644)
    expect(() => enginesToTry('auto', d)).toThrow(CaptureSetupError)
  })

  it('neither installed: says what to install', () => {
    let err: unknown
    try {
      enginesToTry('auto', join(dir, 'empty'))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(CaptureSetupError)
    expect((err as CaptureSetupError).kind).toBe('missing')
    expect((err as Error).message).toMatch(/neither tcpdump nor dumpcap is installed/)
    expect((err as Error).message).toMatch(/apt-get install tcpdump/)
    expect(() => enginesToTry('dumpcap', join(dir, 'empty'))).toThrow(/dumpcap is not installed/)
  })
})

describe('engine arguments', () => {
  it('dumpcap: every interface in one process, filter per interface, pcapng on stdout', () => {
    expect(engineArgs('dumpcap', { interfaces: ['eth0', 'eth1'], filter: 'udp' })).toEqual([
      ['-i', 'eth0', '-f', 'udp', '-s', '65600', '-i', 'eth1', '-f', 'udp', '-s', '65600', '-n', '-w', '-'],
    ])
  })

  it('tcpdump: one process per interface, immediate mode, each packet flushed, filter last', () => {
    const lists = engineArgs('tcpdump', { interfaces: ['eth0', 'any'], filter: 'udp or tcp', bufferMiB: 4 })
    expect(lists).toHaveLength(2)
    for (const [k, a] of lists.entries()) {
      expect(a.slice(0, 2)).toEqual(['-i', ['eth0', 'any'][k]])
      expect(a).toContain('--immediate-mode')
      expect(a).toContain('-U')
      expect(a.slice(a.indexOf('-w'), a.indexOf('-w') + 2)).toEqual(['-w', '-'])
      expect(a.slice(a.indexOf('-B'), a.indexOf('-B') + 2)).toEqual(['-B', '4096']) // KiB
      expect(a.at(-1)).toBe('udp or tcp')
    }
  })
})

describe('engine failures', () => {
  const tcpdump = { name: 'tcpdump' as const, path: '/usr/bin/tcpdump' }
  const dumpcap = { name: 'dumpcap' as const, path: '/usr/bin/dumpcap' }

  it('not permitted: which permission to grant, for each engine', () => {
    const t = engineFailure(
      tcpdump,
      "tcpdump: eth0: You don't have permission to perform this capture on that device\n(socket: Operation not permitted)\n",
      1,
      ['eth0'],
    )
    expect(t.kind).toBe('permission')
    expect(t.message).toMatch(/tcpdump may not capture on eth0/)
    expect(t.message).toContain('sudo setcap cap_net_raw,cap_net_admin=eip /usr/bin/tcpdump')
    const d = engineFailure(
      dumpcap,
      `Capturing on 'lo'\ndumpcap: You do not have permission to capture on device "lo".\n(socket: Operation not permitted)\nPlease check to make sure you have sufficient permissions.\n`,
      1,
      ['lo'],
    )
    expect(d.kind).toBe('permission')
    expect(d.message).toMatch(/wireshark group/)
    expect(d.message).toMatch(/usermod -aG wireshark/)
    expect(d.message).toContain('setcap cap_net_raw,cap_net_admin=eip /usr/bin/dumpcap')
    expect(d.message).not.toMatch(/Please check/)
  })

  it('no such interface: names it and points at --list-interfaces', () => {
    const e = engineFailure(tcpdump, 'tcpdump: nosuch: No such device exists\n(No such device exists)\n', 1, [
      'nosuch',
    ])
    expect(e.kind).toBe('interface')
    expect(e.message).toMatch(/cannot capture on nosuch: nosuch: No such device exists/)
    expect(e.message).toMatch(/--list-interfaces/)
    const d = engineFailure(
      dumpcap,
      `Capturing on 'x'\ndumpcap: There is no device named "x".\n(No such device exists)\n`,
      1,
      ['x'],
    )
    expect(d.kind).toBe('interface')
  })

  it('a filter the engine refuses', () => {
    const e = engineFailure(tcpdump, 'tcpdump: syntax error in filter expression: syntax error\n', 1, ['lo'])
    expect(e.kind).toBe('filter')
    expect(e.message).toMatch(/capture filter was refused: syntax error/)
  })

  it('closing drop counts: dumpcap per interface (pcap + ps_ifdrop = kernel), tcpdump', () => {
    const dc =
      "Packets received/dropped on interface 'eth0': 100/7 (pcap:5/dumpcap:1/flushed:1/ps_ifdrop:2) (93.0%)\n" +
      "Packets received/dropped on interface 'eth1': 10/0 (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)\n"
    expect(parseEngineDrops(dc)).toEqual({ kernel: 7, engine: 2 })
    const td =
      '12 packets captured\n20 packets received by filter\n8 packets dropped by kernel\n1 packet dropped by interface\n'
    expect(parseEngineDrops(td)).toEqual({ kernel: 9, engine: 0 })
    expect(parseEngineDrops('tcpdump: listening on lo\n')).toBeUndefined()
  })
})

describe('the capture filter', () => {
  it('default, port ranges (and later IP fragments), own destinations left out first', () => {
    expect(buildFilter({ vlan: false })).toBe('(udp or tcp or sctp)')
    expect(
      buildFilter({
        vlan: false,
        portRanges: [
          [5060, 5060],
          [5080, 5090],
        ],
      }),
    ).toBe('((udp or tcp or sctp) and (port 5060 or portrange 5080-5090 or (ip[6:2] & 0x1fff != 0)))')
    expect(buildFilter({})).toBe('((udp or tcp or sctp) or (vlan and (udp or tcp or sctp)))')
    expect(
      buildFilter({
        filter: 'udp port 5060',
        exclude: [
          { host: '10.0.0.2', port: 9060 },
          { host: '10.0.0.2', port: 9060 },
          { host: '::1', port: 9061 },
        ],
      }),
    ).toBe('not ((host 10.0.0.2 and port 9060) or (host ::1 and port 9061)) and (udp port 5060)')
  })

  const tcpdumpOk = haveTool('tcpdump')
  it.skipIf(!tcpdumpOk)(
    'tcpdump reads a capture through each filter: SIP kept, the HEP destination left out',
    () => {
      const count = (file: string, f: string) => {
        const r = spawnSync('tcpdump', ['-r', fixture(file), '-n', f], { encoding: 'utf8' })
        expect(r.status, r.stderr).toBe(0)
        return r.stdout.split('\n').filter((l) => l.trim() !== '').length
      }
      // sip-udp.pcap: 18 SIP datagrams between 127.0.0.1:5070 and 127.0.0.1:5060
      expect(count('captures/sip-udp.pcap', buildFilter({}))).toBe(18)
      expect(count('captures/sip-udp.pcap', buildFilter({ portRanges: [[5060, 5061]] }))).toBe(18)
      expect(count('captures/sip-udp.pcap', buildFilter({ portRanges: [[6000, 6001]] }))).toBe(0)
      // as if we sent HEP to 127.0.0.1:5060: all of that traffic is left out
      expect(
        count('captures/sip-udp.pcap', buildFilter({ exclude: [{ host: '127.0.0.1', port: 5060 }] })),
      ).toBe(0)
      expect(
        count('captures/sip-udp.pcap', buildFilter({ exclude: [{ host: '127.0.0.1', port: 9060 }] })),
      ).toBe(18)
      // VLAN-tagged SIP is kept by the default filter; a fragmented INVITE keeps its later fragments
      expect(count('captures/sip-udp-vlan100.pcap', buildFilter({}))).toBeGreaterThan(0)
      const frag = count('captures/sip-udp-ipv4-frag.pcap', buildFilter({ portRanges: [[5060, 5061]] }))
      expect(frag).toBe(count('captures/sip-udp-ipv4-frag.pcap', 'udp'))
    },
  )
})

describe('pcapng interface statistics blocks', () => {
  it("dumpcap's closing ISB: the interface's name, received and dropped", async () => {
    const r = new CaptureReader(fixture('captures/dumpcap-isb.pcapng'))
    let n = 0
    for await (const b of r.batches()) n += b.length
    expect(n).toBe(5)
    expect(r.info?.interfaceStats).toEqual([{ interfaceId: 0, name: 'lo', received: 5, ifDropped: 0 }])
  })

  it('every counter of a block, either byte order; the latest block of an interface wins', () => {
    for (const le of [true, false]) {
      const u32 = (v: number) => {
        const b = Buffer.alloc(4)
        if (le) b.writeUInt32LE(v)
        else b.writeUInt32BE(v)
        return b
      }
      const u16 = (v: number) => {
        const b = Buffer.alloc(2)
        if (le) b.writeUInt16LE(v)
        else b.writeUInt16BE(v)
        return b
      }
      const u64 = (v: number) =>
        le
          ? Buffer.concat([u32(v % 2 ** 32), u32(Math.floor(v / 2 ** 32))])
          : Buffer.concat([u32(Math.floor(v / 2 ** 32)), u32(v % 2 ** 32)])
      const block = (type: number, body: Buffer) =>
        Buffer.concat([u32(type), u32(body.length + 12), body, u32(body.length + 12)])
      const shb = block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.alloc(8, 0xff)]))
      const idb = block(
        1,
        Buffer.concat([u16(1), u16(0), u32(65535), u16(2), u16(4), Buffer.from('eth0'), u16(0), u16(0)]),
      )
      const opt = (code: number, v: number) => Buffer.concat([u16(code), u16(8), u64(v)])
      const isb = (recv: number) =>
        block(
          5,
          Buffer.concat([
            u32(0),
            u32(0),
            u32(0),
            opt(4, recv),
            opt(5, 3),
            opt(7, 2 ** 33 + 1),
            opt(8, 90),
            u16(0),
            u16(0),
          ]),
        )
      const p = new CaptureParser()
      p.push(Buffer.concat([shb, idb, isb(50), isb(100)]))
      expect(p.info?.interfaceStats, le ? 'little-endian' : 'big-endian').toEqual([
        { interfaceId: 0, name: 'eth0', received: 100, ifDropped: 3, osDropped: 2 ** 33 + 1, delivered: 90 },
      ])
    }
  })
})
