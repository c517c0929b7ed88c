/**
 * Runs `node bin/run.js ARGS` on a pseudo-terminal (python3's pty): stdin, stdout and stderr are the
 * terminal, `columns` × `rows`. While it runs, optionally: sends UDP datagrams to the port the output
 * names (`udp`: once `udp.portFrom` matches), then types Ctrl-C once `ctrlCAfter` appears in the output
 * (or `ctrlCWhen`, a regular expression, matches it) and `ctrlCDelayMs` more have passed. Returns
 * everything the terminal got (escape codes included), split at the Ctrl-C, the exit code (-999: killed
 * after `timeoutMs`) and the ms from the Ctrl-C to the exit.
 */
import { spawnSync } from 'node:child_process'
import { BIN, ROOT, haveTool } from './cli.js'

export interface PtyRun {
  out: string
  /** what the terminal got before the Ctrl-C, and after it (all of `out` and '' without one) */
  beforeCtrlC: string
  afterCtrlC: string
  code: number
  /** ms from the Ctrl-C to the exit (or from the start, without one) */
  ms: number
}

const PY = `
import os, pty, re, select, signal, socket, sys, time, json, struct, fcntl, termios
opts = json.loads(sys.argv[1])
MARK = b'\\0<<CTRL-C>>\\0'
pid, fd = pty.fork()
if pid == 0:
    os.environ['NO_COLOR'] = '1'
    os.environ['NODE_ENV'] = 'production'
    for k, v in opts.get('env', {}).items(): os.environ[k] = v
    if opts.get('cwd'): os.chdir(opts['cwd'])
    os.execv(sys.argv[2], sys.argv[2:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', opts['rows'], opts['columns'], 0, 0))
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
t1 = t0
def until(pattern):
    while not re.search(pattern, out) and time.time() - t0 < opts['timeoutMs'] / 1000: pump(0.02)
    return re.search(pattern, out)
udp = opts.get('udp')
if udp is not None:
    m = until(udp['portFrom'].encode())
    if m:
        host = udp.get('host', '127.0.0.1')
        s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
        for h in udp['hex']: s.sendto(bytes.fromhex(h), (host, int(m.group(1))))
        s.close()
wait = opts.get('ctrlCWhen')
if wait is None and opts.get('ctrlCAfter') is not None: wait = re.escape(opts['ctrlCAfter'])
if wait is not None:
    until(wait.encode())
    pump(opts.get('ctrlCDelayMs', 0) / 1000)
    out += MARK
    os.write(fd, b'\\x03')
    t1 = time.time()
while True:
    pump(0.02)
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        code = os.waitstatus_to_exitcode(st); break
    if time.time() - t0 > opts['timeoutMs'] / 1000:
        os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0); code = -999; break
pump(0.1)
sys.stdout.write('%d %d\\n' % (code, (time.time() - t1) * 1000))
sys.stdout.write(out.decode('utf8', 'replace'))
`

export function onTerminal(
  args: string[],
  opts: {
    columns?: number
    rows?: number
    /** datagrams (hex) sent to `host` (127.0.0.1) at the port group 1 of `portFrom` (a regex) finds */
    udp?: { portFrom: string; hex: string[]; host?: string }
    ctrlCAfter?: string
    ctrlCWhen?: string
    ctrlCDelayMs?: number
    timeoutMs?: number
    env?: Record<string, string>
    cwd?: string
  } = {},
): PtyRun {
  const o = { columns: 80, rows: 24, timeoutMs: 15000, ...opts }
  const r = spawnSync('python3', ['-c', PY, JSON.stringify(o), process.execPath, BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: o.timeoutMs + 5000,
  })
  const [head, ...rest] = (r.stdout ?? '').split('\n')
  const [code, ms] = head.split(' ').map(Number)
  const [beforeCtrlC, afterCtrlC = ''] = rest.join('\n').split('\0<<CTRL-C>>\0')
  return { out: beforeCtrlC + afterCtrlC, beforeCtrlC, afterCtrlC, code, ms }
}

/** python3 with its pty module: in CI its absence fails the run (haveTool), elsewhere it skips. */
export const havePty = (): boolean =>
  haveTool('python3') && spawnSync('python3', ['-c', 'import pty'], { encoding: 'utf8' }).status === 0

/** What a terminal shows of `raw`: carriage returns and erase-line codes applied, other codes dropped. */
export function screen(raw: string): string[] {
  const lines: string[] = []
  let cur = ''
  let col = 0
  // eslint-disable-next-line no-control-regex
  const tokens = raw.match(/\x1b\[[0-9;?]*[A-Za-z]|\r\n|\r|\n|[^\x1b\r\n]/g) ?? []
  for (const t of tokens) {
    if (t === '\r\n' || t === '\n') {
      lines.push(cur)
      cur = ''
      col = 0
    } else if (t === '\r') col = 0
    else if (t.startsWith('\x1b[')) {
      const cmd = t[t.length - 1]
      const n = Number(t.slice(2, -1)) || 0
      if (cmd === 'K')
        cur = n === 2 ? '' : cur.slice(0, col) // 0: to the end, 2: the whole line
      else if (cmd === 'G') col = Math.max(0, n - 1)
      // colours, cursor shown/hidden, line wrap on/off: nothing on screen
    } else {
      cur = cur.slice(0, col) + t + cur.slice(col + 1)
      col++
    }
  }
  if (cur !== '') lines.push(cur)
  return lines
}
