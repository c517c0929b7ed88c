/**
 * Runs `node bin/run.js ARGS` on a pseudo-terminal (python3's pty): stdin, stdout and stderr are the
 * terminal, `columns` wide. Optionally types Ctrl-C once `ctrlCAfter` appears in the output (and
 * `ctrlCDelayMs` more have passed). Returns everything the terminal got (escape codes included), the
 * exit code (-999: killed after `timeoutMs`) and the ms from the Ctrl-C to the exit.
 */
import { spawnSync } from 'node:child_process'
import { BIN, ROOT, haveTool } from './cli.js'

export interface PtyRun {
  out: string
  code: number
  /** ms from the Ctrl-C to the exit (or from the start, without one) */
  ms: number
}

const PY = `
import os, pty, select, signal, sys, time, json, struct, fcntl, termios
opts = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.environ['NO_COLOR'] = '1'
    os.environ['NODE_ENV'] = 'production'
    for k, v in opts.get('env', {}).items(): os.environ[k] = v
    if opts.get('cwd'): os.chdir(opts['cwd'])
    os.execv(sys.argv[2], sys.argv[2:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, opts['columns'], 0, 0))
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
wait = opts.get('ctrlCAfter')
if wait is not None:
    while wait.encode() not in out and time.time() - t0 < opts['timeoutMs'] / 1000: pump(0.02)
    pump(opts.get('ctrlCDelayMs', 0) / 1000)
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
    ctrlCAfter?: string
    ctrlCDelayMs?: number
    timeoutMs?: number
    env?: Record<string, string>
    cwd?: string
  } = {},
): PtyRun {
  const o = { columns: 80, timeoutMs: 15000, ...opts }
  const r = spawnSync('python3', ['-c', PY, JSON.stringify(o), process.execPath, BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: o.timeoutMs + 5000,
  })
  const [head, ...rest] = (r.stdout ?? '').split('\n')
  const [code, ms] = head.split(' ').map(Number)
  return { out: rest.join('\n'), code, ms }
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
