// --json and --quiet on every command: --json puts the packets (or calls) on stdout, then one
// {"summary":true,…} line; --quiet silences the summary, that line included: `--json -q` is the data
// alone, on stdout, and stderr says nothing. (decode, calls, replay, send and listen printed the
// summary line under -q; convert to stdout did not: now all alike.)
import { createSocket } from 'node:dgram'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fixture, hep, start } from '../helpers/cli.js'
import { boundPorts, freePort } from '../interop/peers.js'

const HEX = fixture('hep/hep-v3.hex') // 39 packets
const CALLS = fixture('calls/calls-all.pcap') // 4 calls
const TMP = mkdtempSync(join(tmpdir(), 'hep-json-quiet-'))

const lines = (s: string) => (s === '' ? [] : s.trimEnd().split('\n'))
const isSummary = (l: string) => l.startsWith('{"summary":true')

const sink = createSocket('udp4')
const sinkReady = new Promise<number>((r) => sink.bind(0, '127.0.0.1', () => r(sink.address().port)))
afterAll(() => sink.close())

/** each command, its --json run (args) and the number of data lines its stdout gets */
const COMMANDS: [string, () => Promise<string[]>, number][] = [
  ['decode', async () => ['decode', HEX, '--json'], 39],
  ['calls', async () => ['calls', CALLS, '--json'], 4],
  ['calls --flow', async () => ['calls', CALLS, '--json', '--flow', '1-10901@127.0.0.1'], 7],
  ['replay --dry-run', async () => ['replay', CALLS, '--dry-run', '--topspeed', '--json'], 41],
  ['send', async () => ['send', HEX, '--to', `127.0.0.1:${await sinkReady}`, '--json'], 0],
  ['convert to a file', async () => ['convert', HEX, join(TMP, 'o.jsonl'), '--json'], 0],
]

describe.concurrent('--json, then --json --quiet: the summary line goes, the data stays', () => {
  it.each(COMMANDS)('%s', async (_name, argsOf, data) => {
    const args = await argsOf()
    const loud = await hep(args)
    expect(loud.code, loud.stderr).toBe(0)
    const out = lines(loud.stdout)
    expect(out.filter(isSummary)).toHaveLength(1)
    expect(isSummary(out.at(-1) ?? '')).toBe(true)
    expect(out).toHaveLength(data + 1)

    const quiet = await hep([...args, '-q'])
    expect(quiet.code, quiet.stderr).toBe(0)
    expect(lines(quiet.stdout)).toEqual(out.slice(0, -1))
    expect(quiet.stderr).toBe('')
  })

  it('convert to stdout: the summary line is on stderr, and --quiet silences it', async () => {
    const loud = await hep(['convert', HEX, '-', '--into', 'jsonl', '--json'])
    expect(lines(loud.stdout)).toHaveLength(39)
    expect(lines(loud.stderr).filter(isSummary)).toHaveLength(1)
    const quiet = await hep(['convert', HEX, '-', '--into', 'jsonl', '--json', '-q'])
    expect(quiet.stdout).toBe(loud.stdout)
    expect(quiet.stderr).toBe('')
  })

  it('listen --count 3', async () => {
    const run = async (quiet: boolean) => {
      // (outside the ephemeral range: -q says nothing, so the port is chosen here)
      const p = freePort()
      const l = start([
        'listen',
        '--udp',
        `127.0.0.1:${p}`,
        '--json',
        '--count',
        '3',
        ...(quiet ? ['-q'] : []),
      ])
      for (let i = 0; i < 200 && !boundPorts('udp').has(p); i++) await new Promise((r) => setTimeout(r, 50))
      expect((await hep(['send', HEX, '--to', `127.0.0.1:${p}`, '-q'])).code).toBe(0)
      expect(await l.exited).toBe(0)
      return { out: lines(l.stdout()), err: l.stderr() }
    }
    const loud = await run(false)
    expect(loud.out).toHaveLength(4)
    expect(isSummary(loud.out[3])).toBe(true)
    const quiet = await run(true)
    expect(quiet.out).toHaveLength(3)
    expect(quiet.out.some(isSummary)).toBe(false)
    expect(quiet.err).toBe('')
  })
})
