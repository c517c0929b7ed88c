// Help that reads: no hard breaks (oclif wraps), true per command, -h, a short error for an unknown
// flag, "did you mean" for a mistyped command, and every example of every --help run as written.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, haveTool, hep } from '../helpers/cli.js'

const COMMANDS = ['decode', 'convert', 'replay', 'send', 'listen']

describe('help', () => {
  it.each(COMMANDS)(
    '%s: -h is --help; descriptions are paragraphs oclif wraps, no line over 80 columns',
    async (c) => {
      const [h, help] = await Promise.all([hep([c, '-h']), hep([c, '--help'])])
      expect(h.code).toBe(0)
      expect(h.stdout).toBe(help.stdout)
      const mod = (await import(`${ROOT}dist/commands/${c}.js`)) as { default: { description: string } }
      // a line break only between paragraphs
      expect(mod.default.description).not.toMatch(/[^\n]\n[^\n]/)
      const desc = help.stdout.slice(help.stdout.indexOf('DESCRIPTION'), help.stdout.indexOf('EXAMPLES'))
      for (const line of desc.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80)
      // (examples stay one line each, to be copied whole)
      for (const line of help.stdout.split('\n'))
        if (line.startsWith('  ') && !line.startsWith('  $ '))
          expect(line.length, line).toBeLessThanOrEqual(80)
    },
  )

  it('says per command what is true of it', async () => {
    // the help as one line of words (oclif wraps where it likes)
    const [send, replay, convert] = (
      await Promise.all([hep(['send', '-h']), hep(['replay', '-h']), hep(['convert', '-h'])])
    ).map((r) => ({ stdout: r.stdout.replace(/\s+/g, ' ') }))
    expect(send.stdout).not.toContain('convert:')
    expect(replay.stdout).not.toContain('convert:')
    expect(send.stdout).toContain('HEP version to encode (default: 3)')
    expect(convert.stdout).toContain("HEP version to encode (default: keep the input's)")
    // the usage line has no empty alternative
    expect(send.stdout).not.toMatch(/\| \]/)
    expect(replay.stdout).toContain('captures to replay ("-": stdin)')
    expect(replay.stdout).toContain('--port-range')
    expect(replay.stdout).toMatch(/FILTER FLAGS/)
  })

  it('an unknown flag: one line naming it, the nearest flag, and where help is; exit 2', async () => {
    const r = await hep(['decode', 'fixtures/hep/hep-v3.hex', '--metod', 'INVITE'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      'hep decode: unknown flag --metod (did you mean --method?); see hep decode --help\n',
    )
    const far = await hep(['replay', 'x.pcap', '--zzzzzz'])
    expect(far.stderr).toBe('hep replay: unknown flag --zzzzzz; see hep replay --help\n')
    expect(far.code).toBe(2)
  })

  it('a mistyped command: did you mean, exit 2', async () => {
    const r = await hep(['decod', 'x'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'hep: decod is not a hep command; did you mean hep decode? (hep --help lists them)\n',
    )
    const none = await hep(['frobnicate'])
    expect(none.stderr).toBe('hep: frobnicate is not a hep command (hep --help lists them)\n')
  })
})

// every example of every command's --help, run as written in a folder like the project's (its
// fixtures, outputs written there), each in a network namespace of its own (loopback only, so the
// ports of the examples are free); destinations have a listener; listeners are stopped with Ctrl-C
const netns = haveTool('unshare') && spawnSync('unshare', ['-rn', 'true']).status === 0

describe.skipIf(!netns)('every --help example runs as written', () => {
  const examples: { cmd: string; line: string }[] = []
  for (const c of COMMANDS) {
    const out = spawnSync(process.execPath, [BIN, c, '--help'], { encoding: 'utf8' }).stdout
    for (const m of out.slice(out.indexOf('EXAMPLES')).matchAll(/^ {2}\$ (.*)$/gm))
      examples.push({ cmd: c, line: m[1] })
  }

  it('there are examples', () => expect(examples.length).toBeGreaterThanOrEqual(COMMANDS.length * 4))

  it.each(examples)(
    '$line',
    async ({ cmd, line }) => {
      const dir = mkdtempSync(join(tmpdir(), 'hep-example-'))
      symlinkSync(join(ROOT, 'fixtures'), join(dir, 'fixtures'))
      mkdirSync(join(dir, 'bin'))
      writeFileSync(join(dir, 'bin', 'hep'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, {
        mode: 0o755,
      })
      const listens = line.startsWith('hep listen')
      // a sink for the examples that send (UDP 9060, TCP 9060 and 9061), started before them
      const sink = listens ? '' : 'hep listen --udp 9060 --tcp 9060 --tcp 9061 -q >/dev/null & sleep 0.8; '
      const script = `ip link set lo up; ${sink}${line}`
      const child = spawn('unshare', ['-rn', 'sh', '-c', script], {
        cwd: dir,
        env: {
          ...process.env,
          PATH: `${dir}/bin:${process.env.PATH}`,
          NODE_ENV: 'production',
          NO_COLOR: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      })
      let out = ''
      let err = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr.on('data', (d: Buffer) => (err += d.toString()))
      // 'exit', not 'close': the sink in the background keeps the pipes open until it is killed
      const exited = new Promise<number | null>((r) => child.on('exit', r))
      let code: number | null
      if (listens) {
        // a listener runs until stopped: Ctrl-C to the whole pipeline once it listens
        // (--quiet says nothing: a while is given instead); then a moment for the rest of a pipeline to start
        for (let i = 0; i < 100 && !/listening on/.test(err); i++) {
          if (line.includes('--quiet') && i >= 30) break
          await new Promise((r) => setTimeout(r, 50))
        }
        if (!line.includes('--quiet')) expect(err).toMatch(/listening on/)
        await new Promise((r) => setTimeout(r, 700))
        // Ctrl-C to the pipeline's commands (the shell's children), as a terminal sends it to them
        const kids = spawnSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' })
        for (const pid of kids.stdout.split('\n').map(Number).filter(Boolean)) process.kill(pid, 'SIGINT')
        code = await exited
      } else {
        code = await exited
        try {
          process.kill(-child.pid!, 'SIGKILL') // the sink
        } catch {
          // gone with the namespace
        }
      }
      // a pipeline that ends in jq ends with jq's status: Ctrl-C ends jq (130), as in a terminal
      const last = line.split('|').pop()!.trim()
      expect(last.startsWith('jq') && listens ? [0, 130] : [0], `${cmd}: ${line}\n${err}`).toContain(code)
      expect(err, line).not.toMatch(/error:|internal|not found|No such/i)
    },
    30_000,
  )
})
