// One table of filter cases, run against every command that reads packets (decode, convert, listen,
// replay): the same flags are accepted everywhere and keep the same messages, those a predicate
// written here (on the messages as made, not as hep reads them) says they should.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { hep, packetLines, start } from '../helpers/cli.js'

interface Msg {
  src: string
  dst: string
  sport: number
  dport: number
  captureId: number
  /** request method, or the status of a response */
  start: string
  cseq: string
  callId: string
}

const v6 = (ip: string) => ip.includes(':')
/** src, dst, sport, dport, captureId, start, cseq, callId: one message a row */
const MSGS: Msg[] = (
  [
    ['10.0.0.1', '10.0.0.2', 5060, 5060, 1, 'INVITE', '1 INVITE', 'a-1@x'],
    ['10.0.0.2', '10.0.0.1', 5060, 5060, 1, '180', '1 INVITE', 'a-1@x'],
    ['10.0.0.2', '10.0.0.1', 5060, 5060, 1, '200', '1 INVITE', 'a-1@x'],
    ['10.0.0.1', '10.0.0.2', 5060, 5060, 1, 'ACK', '1 ACK', 'a-1@x'],
    ['192.168.1.5', '10.0.0.2', 5070, 5080, 2, 'OPTIONS', '7 OPTIONS', 'opt-9@y'],
    ['10.0.0.2', '192.168.1.5', 5080, 5070, 2, '200', '7 OPTIONS', 'opt-9@y'],
    ['fd00::1', 'fd00::2', 5062, 5060, 3, 'INVITE', '1 INVITE', 'a-2@z'],
    ['fd00::2', 'fd00::1', 5060, 5062, 3, '486', '1 INVITE', 'a-2@z'],
    ['10.0.0.1', '10.0.0.2', 5060, 5060, 1, 'BYE', '2 BYE', 'a-1@x'],
    ['10.0.0.2', '10.0.0.1', 5060, 5060, 1, '200', '2 BYE', 'a-1@x'],
  ] as const
).map(([src, dst, sport, dport, captureId, start, cseq, callId]) => ({
  src,
  dst,
  sport,
  dport,
  captureId,
  start,
  cseq,
  callId,
}))

const REASONS: Record<string, string> = { '180': 'Ringing', '200': 'OK', '486': 'Busy Here' }
function payloadOf(m: Msg): string {
  const line = /^\d/.test(m.start)
    ? `SIP/2.0 ${m.start} ${REASONS[m.start]}`
    : `${m.start} sip:bob@${v6(m.dst) ? `[${m.dst}]` : m.dst} SIP/2.0`
  return `${line}\r\nVia: SIP/2.0/UDP ${v6(m.src) ? `[${m.src}]` : m.src}:${m.sport}\r\nCall-ID: ${m.callId}\r\nCSeq: ${m.cseq}\r\nContent-Length: 0\r\n\r\n`
}
const key = (payload: string) => /^[^\r]*/.exec(payload)![0] + ' ' + /Call-ID: (.*)\r/.exec(payload)![1]
const method = (m: Msg) => m.cseq.split(' ')[1]
const inCidr = (ip: string, net: string) =>
  net.endsWith('/8')
    ? ip.startsWith(net.split('.')[0] + '.')
    : net.endsWith('::/16')
      ? ip.startsWith('fd00:')
      : ip === net

type Cmd = 'decode' | 'convert' | 'replay' | 'listen'
const ALL: Cmd[] = ['decode', 'convert', 'replay', 'listen']

const CASES: { flags: string[]; want: (m: Msg) => boolean; only?: Cmd[] }[] = [
  { flags: ['--call-id', 'a-1@x', '--call-id', 'a-2@z'], want: (m) => m.callId.startsWith('a-') },
  { flags: ['--call-id-prefix', 'opt-'], want: (m) => m.callId.startsWith('opt-') },
  { flags: ['--method', 'INVITE'], want: (m) => method(m) === 'INVITE' },
  { flags: ['--method', 'invite', '--method', 'BYE'], want: (m) => ['INVITE', 'BYE'].includes(method(m)) },
  {
    flags: ['--not-method', 'ACK', '--not-method', 'OPTIONS'],
    want: (m) => !['ACK', 'OPTIONS'].includes(method(m)),
  },
  { flags: ['--grep', '^SIP/2\\.0 [2-6]'], want: (m) => /^[2-6]/.test(m.start) },
  { flags: ['--not-grep', 'Ringing|Busy'], want: (m) => !['180', '486'].includes(m.start) },
  { flags: ['--ip', '192.168.1.5'], want: (m) => m.src === '192.168.1.5' || m.dst === '192.168.1.5' },
  { flags: ['--ip', 'fd00::/16'], want: (m) => v6(m.src) },
  {
    flags: ['--not-ip', '10.0.0.0/8'],
    want: (m) => !inCidr(m.src, '10.0.0.0/8') && !inCidr(m.dst, '10.0.0.0/8'),
  },
  { flags: ['--port', '5070-5080'], want: (m) => [m.sport, m.dport].some((p) => p >= 5070 && p <= 5080) },
  {
    flags: ['--port-range', '5061-5062,5070'],
    want: (m) => [m.sport, m.dport].some((p) => p === 5062 || p === 5070),
  },
  {
    flags: ['--method', 'INVITE', '--not-grep', '486', '--ip', '10.0.0.1'],
    want: (m) =>
      method(m) === 'INVITE' && m.start !== '486' && (m.src === '10.0.0.1' || m.dst === '10.0.0.1'),
  },
  // --capture-id is a filter where packets carry one from their sender (decode, listen); convert
  // and replay have it as the encoding option that sets it
  { flags: ['--capture-id', '2'], want: (m) => m.captureId === 2, only: ['decode', 'listen'] },
  { flags: ['--call-id', 'a-1'], want: () => false },
]

let dir = ''
let sipPcap = ''
let hepPcap = ''

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hep-filters-'))
  const jsonl = join(dir, 'msgs.jsonl')
  writeFileSync(
    jsonl,
    MSGS.map((m, i) =>
      JSON.stringify({
        version: 3,
        protocolFamily: v6(m.src) ? 10 : 2,
        protocol: 17,
        srcIp: m.src,
        dstIp: m.dst,
        srcPort: m.sport,
        dstPort: m.dport,
        timeSeconds: 1795437600,
        timeUseconds: i * 1000,
        payloadType: 1,
        captureId: m.captureId,
        payload: payloadOf(m),
      }),
    ).join('\n') + '\n',
  )
  sipPcap = join(dir, 'msgs.pcap')
  hepPcap = join(dir, 'msgs.hep.pcap')
  expect((await hep(['convert', jsonl, sipPcap, '-q'])).code).toBe(0)
  expect((await hep(['convert', jsonl, hepPcap, '-q'])).code).toBe(0)
})

async function run(cmd: Cmd, flags: string[], expected: number): Promise<{ keys: string[]; stderr: string }> {
  const keysOf = (jsonLines: string[]) => jsonLines.map((l) => key(JSON.parse(l).payload)).sort()
  if (cmd === 'decode') {
    const r = await hep(['decode', hepPcap, '--json', ...flags])
    expect(r.code, r.stderr).toBe(0)
    return { keys: keysOf(packetLines(r.stdout)), stderr: r.stderr }
  }
  if (cmd === 'replay') {
    const r = await hep(['replay', sipPcap, '--dry-run', '--json', '--topspeed', ...flags])
    expect(r.code, r.stderr).toBe(0)
    return { keys: keysOf(packetLines(r.stdout)), stderr: r.stderr }
  }
  if (cmd === 'convert') {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}.jsonl`)
    const r = await hep(['convert', sipPcap, out, ...flags])
    expect(r.code, r.stderr).toBe(0)
    return { keys: keysOf(packetLines(readFileSync(out, 'utf8'))), stderr: r.stderr }
  }
  const l = start(['listen', '--udp', '127.0.0.1:0', '--json', ...flags])
  const port = Number((await l.waitFor(/listening on udp [^ ]+:(\d+)/))[1])
  const s = await hep(['send', hepPcap, '--to', `127.0.0.1:${port}`])
  expect(s.code, s.stderr).toBe(0)
  // every packet that should pass is shown (then a moment for any that should not), or none should
  for (let t = 0; t < 200 && packetLines(l.stdout()).length < expected; t++)
    await new Promise((r) => setTimeout(r, 25))
  await new Promise((r) => setTimeout(r, 150))
  l.child.kill('SIGINT')
  expect(await l.exited).toBe(0)
  return { keys: keysOf(packetLines(l.stdout())), stderr: l.stderr() }
}

describe('the filters: one table, every command', () => {
  it.each(CASES)('$flags', async ({ flags, want, only }) => {
    const expected = MSGS.filter(want)
      .map((m) => key(payloadOf(m)))
      .sort()
    const cmds = only ?? ALL
    const results = await Promise.all(cmds.map((c) => run(c, flags, expected.length)))
    cmds.forEach((c, i) => {
      expect(results[i].keys, `${c} ${flags.join(' ')}`).toEqual(expected)
      // a filter that matched nothing says so (and a filter that matched something does not)
      if (expected.length === 0) expect(results[i].stderr, c).toMatch(/no packet matched --call-id a-1/)
      else expect(results[i].stderr, c).not.toMatch(/no packet matched/)
    })
    expect(expected.length, 'the case tests something').toBeLessThanOrEqual(MSGS.length)
  })

  it('a partial Call-ID matches nothing and says how to match part of one', async () => {
    const r = await hep(['replay', sipPcap, '--dry-run', '--call-id', 'a-1'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(
      'no packet matched --call-id a-1 (10 read); for part of a Call-ID use --call-id-prefix',
    )
    expect(r.stderr).toMatch(/skipped: filtered out\s+│ 10 /)
  })

  it.each(ALL.map((c, i) => [c, i]))(
    '%s: a bad filter value is a usage error naming the flag',
    async (cmd, i) => {
      const args =
        cmd === 'listen'
          ? ['listen', '--udp', '127.0.0.1:0']
          : cmd === 'convert'
            ? ['convert', sipPcap, join(dir, 'x.jsonl')]
            : cmd === 'replay'
              ? ['replay', sipPcap, '--dry-run']
              : ['decode', hepPcap]
      for (const [flags, msg] of [
        [['--port', '70000'], '--port 70000: expected PORT, LO-HI'],
        [['--ip', '10.0.0.300'], '--ip 10.0.0.300: expected an IP address or CIDR'],
        [['--grep', '('], '--grep (:'],
        [['--type', 'nonsense'], '--type nonsense: not a payload type'],
      ] as const) {
        // each command one bad value, decode all of them
        if (cmd !== 'decode' && flags[0] !== ['--port', '--ip', '--grep', '--type'][i]) continue
        const r = await hep([...args, ...flags])
        expect(r.code, r.stderr).toBe(2)
        expect(r.stderr).toContain(msg)
      }
    },
  )
})
