// Usage mistakes on every command: the exit code of the README table, one line on stderr that starts
// with "hep COMMAND:" and names what was wrong, never a stack trace. (Errors raised through oclif
// came as " ›   Error: …" wrapped over several lines; a --metrics port out of range exited 3, as if
// a socket had failed; `capture --write` into a missing folder started capturing; a --spool that is
// a file repeated Node's "ENOTDIR: ENOTDIR: … mkdir '…'".)
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixture, hep } from '../helpers/cli.js'

const HEP3 = fixture('captures/hep-v3.pcap')
const CALLS = fixture('calls/calls-all.pcap')
const TMP = mkdtempSync(join(tmpdir(), 'hep-usage-'))
const FILE = join(TMP, 'a-file')
writeFileSync(FILE, 'x')

describe.concurrent('usage mistakes, every command: exit code, one line naming the input, no stack', () => {
  it.each([
    // inputs: missing, a directory
    [['decode', '/no/such.pcap'], 2, 'cannot read /no/such.pcap: no such file'],
    [['convert', TMP, join(TMP, 'o.pcap')], 2, `cannot read ${TMP}: is a directory`],
    [['calls', '/no/such.pcap'], 2, 'cannot read /no/such.pcap'],
    [['replay', TMP, '--dry-run'], 2, `cannot read ${TMP}: is a directory`],
    [['send', '--to', '127.0.0.1:9', '--payload-file', '/no/file'], 2, 'cannot read /no/file'],
    // outputs
    [['convert', HEP3, '/no/dir/x.pcap'], 2, 'cannot write /no/dir/x.pcap: no such directory'],
    [['convert', HEP3, join(TMP, 'o.weird')], 2, 'o.weird: cannot tell the output format from the name'],
    [['listen', '--udp', '127.0.0.1:0', '--write', TMP], 2, `cannot write ${TMP}: is a directory`],
    [
      ['capture', '-i', 'lo', '--to', '127.0.0.1:9', '--write', '/no/dir/x.pcapng'],
      2,
      'cannot write /no/dir/x.pcapng',
    ],
    [
      ['listen', '--udp', '127.0.0.1:0', '--to', '127.0.0.1:9', '--spool', FILE],
      2,
      'is not a directory (ENOTDIR)',
    ],
    // flag values: oclif's own parsing and ours
    [['decode', HEP3, '--capture-id', 'abc'], 2, '--capture-id: Expected an integer but received: abc'],
    [['decode', HEP3, '--output-buffer', '12x'], 2, '--output-buffer 12x: expected a size'],
    [['calls', CALLS, '--width', '10'], 2, '--width'],
    [['calls', CALLS, '--full'], 2, '--full goes with --flow CALL-ID'],
    [['replay', CALLS, '--to', '127.0.0.1:9', '--speed', '0'], 2, '--speed 0: expected a positive number'],
    [['replay', CALLS, '--to', '127.0.0.1:9', '--limit', '0'], 2, '--limit'],
    [['send', '--to', '127.0.0.1:9', '--payload', 'x', '--time', 'yesterday'], 2, '--time yesterday'],
    [['listen', '--udp', '127.0.0.1:0', '--duration', '0'], 2, '--duration'],
    // missing what to do
    [['replay', CALLS], 2, 'say where to send: --to HOST:PORT'],
    [['listen'], 2, 'say where to listen: --udp PORT, --tcp PORT, --tls PORT or --ws PORT'],
    [['capture', '-i', 'lo'], 2, 'say where to send'],
    // oclif's own messages: a line ending in ':' and the next make one line with one colon
    [['convert', HEP3], 2, 'Missing 1 required arg: output '],
    [['send'], 2, 'The following error occurred: Missing required flag to'],
    // addresses
    [['listen', '--udp', '127.0.0.1:0', '--metrics', '127.0.0.1:99999'], 2, '--metrics 127.0.0.1:99999'],
    [
      ['replay', CALLS, '--to', '127.0.0.1:9', '--metrics', '127.0.0.1:99999'],
      2,
      '--metrics 127.0.0.1:99999',
    ],
    [['capture', '-i', 'lo', '--to', '9060'], 2, 'did you mean 127.0.0.1:9060?'],
    // not a usage mistake: a Call-ID that is not in the input (README: exit 1)
    [['calls', CALLS, '--flow', 'nope'], 1, 'no call with Call-ID nope in'],
  ])('%j exits %i', async (args, code, says) => {
    const r = await hep(args as string[], { timeoutMs: 8000 })
    const cmd = (args as string[])[0]
    expect(r.code, r.stderr).toBe(code)
    expect(r.stderr).toContain(says)
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines, r.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^(hep ${cmd}: |error: )`))
    expect(r.stderr).not.toMatch(/›|\n\s+at /)
    expect(r.stdout).toBe('')
  })
})
