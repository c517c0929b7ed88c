import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, fixture, haveTool, hep, start } from '../helpers/cli.js'

const port = async (r: ReturnType<typeof start>) =>
  Number((await r.waitFor(/listening on udp [^ ]+:(\d+)/))[1])

describe('hep listen --calls', () => {
  it('in a pipe: one JSON object per call, the calls of what arrived (hep-v3.hex: 3 calls of 13 messages)', async () => {
    const l = start(['listen', '--udp', '127.0.0.1:0', '--calls', '--json', '--count', '39'])
    const p = await port(l)
    expect((await hep(['send', fixture('hep/hep-v3.hex'), '--to', `127.0.0.1:${p}`])).code).toBe(0)
    expect(await l.exited).toBe(0)
    const lines = l
      .stdout()
      .trimEnd()
      .split('\n')
      .map((x) => JSON.parse(x) as Record<string, unknown>)
    const calls = lines.filter((x) => x.callId !== undefined)
    expect(calls.map((c) => [c.callId, c.method, c.messages, c.finalStatus, c.captureIds])).toEqual([
      ['1-20396@127.0.0.1', 'INVITE', 13, 200, [2001]],
      ['2-20396@127.0.0.1', 'INVITE', 13, 200, [2001]],
      ['3-20396@127.0.0.1', 'INVITE', 13, 200, [2001]],
    ])
    // the same as hep calls of the same packets
    const offline = await hep(['calls', fixture('hep/hep-v3.hex'), '--json'])
    expect(
      offline.stdout
        .trimEnd()
        .split('\n')
        .slice(0, 3)
        .map((x) => JSON.parse(x) as unknown),
    ).toEqual(calls)
  })

  it('human rows in a pipe: a header, a date line, one row per call', async () => {
    const l = start(['listen', '--udp', '127.0.0.1:0', '--calls', '--count', '39'])
    const p = await port(l)
    await hep(['send', fixture('hep/hep-v3.hex'), '--to', `127.0.0.1:${p}`])
    expect(await l.exited).toBe(0)
    const out = l.stdout().trimEnd().split('\n')
    expect(out[0]).toMatch(/^START\s+DURATION\s+METHOD\s+FROM\s+TO\s+STATUS\s+MSGS\s+CALL-ID\s+SEEN BY$/)
    expect(out[1]).toBe('2026-11-23 (UTC)')
    expect(out.slice(2)).toHaveLength(3)
    for (const row of out.slice(2))
      expect(row).toMatch(
        / INVITE +sipp@127\.0\.0\.1 +service@127\.0\.0\.1 +200 OK +13 \d-20396@127\.0\.0\.1 +2001$/,
      )
  })

  const python =
    haveTool('python3') && spawnSync('python3', ['-c', 'import pty'], { encoding: 'utf8' }).status === 0

  it.skipIf(!python)(
    'on a terminal: the table is redrawn while listening, and printed whole at Ctrl-C',
    () => {
      const hex = readFileSync(fixture('hep/hep-v3.hex'), 'utf8').trim().split('\n')
      const py = `
import fcntl, os, pty, re, select, signal, socket, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.environ['NO_COLOR'] = '1'
    os.environ['NODE_ENV'] = 'production'
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 140, 0, 0))
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
def pump(sec):
    global out
    end = time.time() + sec
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.02)
        if r:
            try: out += os.read(fd, 65536)
            except OSError: return
t0 = time.time()
while not re.search(rb'listening on udp [^ ]+:(\\d+)', out) and time.time() - t0 < 15: pump(0.05)
port = int(re.search(rb'listening on udp [^ ]+:(\\d+)', out).group(1))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for h in sys.stdin.read().split():
    s.sendto(bytes.fromhex(h), ('127.0.0.1', port))
pump(3.5)
out += b'<<CTRL-C>>'
os.write(fd, b'\\x03')
t1 = time.time()
while True:
    pump(0.02)
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        code = os.waitstatus_to_exitcode(st); break
    if time.time() - t1 > 5:
        os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0); code = -999; break
pump(0.1)
sys.stdout.write('%d\\n' % code)
sys.stdout.write(out.decode('utf8', 'replace'))
`
      const r = spawnSync(
        'python3',
        ['-c', py, process.execPath, BIN, 'listen', '--udp', '127.0.0.1:0', '--calls'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          input: hex.join('\n'),
          timeout: 30000,
        },
      )
      const [code, ...rest] = r.stdout.split('\n')
      const out = rest.join('\n').replace(/\r/g, '')
      expect(Number(code)).toBe(0)
      const [live, after] = out.split('<<CTRL-C>>')
      // redrawn while listening: the screen cleared, the header, the three calls
      const lastDraw = live.slice(live.lastIndexOf('\x1b[H\x1b[2J'))
      expect(live).toContain('\x1b[H\x1b[2J')
      expect(lastDraw).toContain('START')
      expect(lastDraw.match(/\d-20396@127\.0\.0\.1/g)).toHaveLength(3)
      // at stop, the whole table
      const table = after.slice(after.lastIndexOf('\x1b[H\x1b[2J'))
      expect(table.match(/200 OK +13 \d-20396@127\.0\.0\.1/g)).toHaveLength(3)
      expect(table).toContain('2026-11-23 (UTC)')
    },
  )
})
