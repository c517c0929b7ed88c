/** Runs the built CLI (`node bin/run.js`, as users do after npm install) and collects its output. */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = `${ROOT}bin/run.js`

export interface RunResult {
  stdout: string
  stdoutBytes: Buffer
  stderr: string
  code: number | null
}

export function fixture(rel: string): string {
  return `${ROOT}fixtures/${rel}`
}

/** Writes `lines` HEP3 hex lines (fixtures/hep/hep-v3.hex, over and over) to `path`; returns `path`. */
export function hexLinesFile(path: string, lines: number): string {
  const hex = readFileSync(fixture('hep/hep-v3.hex'), 'utf8').trim().split('\n')
  writeFileSync(path, Array.from({ length: lines }, (_, i) => hex[i % hex.length]).join('\n') + '\n')
  return path
}

export function hep(
  args: string[],
  opts: { input?: Buffer | string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`hep ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 20000} ms`))
    }, opts.timeoutMs ?? 20000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const stdoutBytes = Buffer.concat(out)
      resolve({
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr: Buffer.concat(err).toString('utf8'),
        code,
      })
    })
    child.stdin.on('error', () => {})
    if (opts.input !== undefined) child.stdin.end(opts.input)
    else child.stdin.end()
  })
}

/** A Debian tool the tests use as an oracle; in CI its absence is a failure, elsewhere a skip. */
export function haveTool(name: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0
  if (!found && process.env.CI) throw new Error(`${name} is missing: .ci/run must install it`)
  return found
}

export function builtAlready(): boolean {
  return existsSync(`${ROOT}dist/commands/decode.js`)
}

export interface Running {
  child: import('node:child_process').ChildProcessWithoutNullStreams
  stdout: () => string
  stderr: () => string
  /** resolves with the exit code */
  exited: Promise<number | null>
  /** waits until stderr (or stdout) matches; returns the match */
  waitFor: (re: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number) => Promise<RegExpMatchArray>
}

/** Collects a child's output and lets the test wait for it. */
export function watch(child: import('node:child_process').ChildProcessWithoutNullStreams): Running {
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const waitFor = (re: RegExp, stream: 'stdout' | 'stderr' = 'stderr', timeoutMs = 10_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const t0 = Date.now()
      const iv = setInterval(() => {
        const m = (stream === 'stderr' ? err : out).match(re)
        if (m) {
          clearInterval(iv)
          resolve(m)
        } else if (Date.now() - t0 > timeoutMs) {
          clearInterval(iv)
          reject(new Error(`timed out waiting for ${re} on ${stream}; stderr so far:\n${err.slice(-2000)}`))
        }
      }, 20)
    })
  return { child, stdout: () => out, stderr: () => err, exited, waitFor }
}

/** Starts a long-running hep command (listen) and lets the test wait for its output. */
export function start(args: string[], opts: { env?: Record<string, string> } = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const running = watch(child)
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  void running.exited.then(() => clearTimeout(killer))
  return running
}

/** The lines of a --json stdout that are packets: every line but the {"summary":true,…} one. */
export function packetLines(stdout: string): string[] {
  return stdout
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('{"summary":true'))
}

/** The {"summary":true,…} line of a --json stdout, parsed (the last line). */
export function summaryOf(stdout: string): Record<string, unknown> {
  const last = stdout.trimEnd().split('\n').pop() ?? ''
  const o = JSON.parse(last) as Record<string, unknown>
  if (o.summary !== true) throw new Error(`the last stdout line is not a summary: ${last.slice(0, 200)}`)
  return o
}
