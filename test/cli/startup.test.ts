// Start-up: the command list is explicit and complete, and the libraries only some paths need
// (colours, tables, progress bars, WebSocket, metrics) are loaded by those paths alone (#15).
import { spawn } from 'node:child_process'
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, fixture, hep, ROOT } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'hep-startup-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const HEAVY = ['chalk', 'cli-table3', 'cli-progress', 'ws', 'prom-client', 'sdp-transform']

/** Runs hep and returns the packages (node_modules/NAME) it loaded, with its result. */
async function loaded(args: string[], input?: string) {
  const log = join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`)
  const r = await hep(args, {
    input,
    env: {
      NODE_OPTIONS: `--import ${join(ROOT, 'test/helpers/loaded-modules.mjs')}`,
      HEP_LOADED_LOG: log,
    },
  })
  const packages = new Set(
    [...readFileSync(log, 'utf8').matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]),
  )
  return { r, packages, heavy: HEAVY.filter((p) => packages.has(p)) }
}

describe('start-up', () => {
  it('lists every command file in the explicit command list, and --help shows each', async () => {
    const files = readdirSync(join(ROOT, 'commands'))
      .filter((f) => f.endsWith('.ts') && !f.startsWith('_') && f !== 'index.ts')
      .map((f) => f.replace(/\.ts$/, ''))
    const { COMMANDS } = await import('../../commands/index.js')
    expect(Object.keys(COMMANDS).sort()).toEqual(files.sort())
    const { r } = await loaded(['--help'])
    expect(r.code).toBe(0)
    for (const id of files) expect(r.stdout).toMatch(new RegExp(`^  ${id} `, 'm'))
  })

  it('--help, a JSON decode and a pipe decode load none of the heavy libraries', async () => {
    const help = await loaded(['--help'])
    expect(help.heavy).toEqual([])
    // the bundle is what runs: not the command files one by one
    expect(help.packages.has('@oclif/core')).toBe(false)
    const line = readFileSync(fixture('hep/hep-v3.hex'), 'utf8').split('\n')[0] + '\n'
    const json = await loaded(['decode', '--json'], line)
    expect(json.r.code).toBe(0)
    expect(JSON.parse(json.r.stdout.split('\n')[0]).version).toBe(3)
    expect(json.heavy).toEqual([])
    const human = await loaded(['decode', fixture('hep/hep-v3.hex')])
    expect(human.r.code).toBe(0)
    expect(human.r.stdout).toContain('INVITE sip:')
    expect(human.r.stdout).not.toContain('\x1b[')
    expect(human.heavy).toEqual([])
  })

  it('loads chalk for --color and cli-table3 for --chunks, and they still work', async () => {
    const line = readFileSync(fixture('hep/hep-v3.hex'), 'utf8').split('\n')[0] + '\n'
    const color = await loaded(['decode', '--color'], line)
    expect(color.r.code).toBe(0)
    expect(color.r.stdout).toContain('\x1b[')
    expect(color.heavy).toEqual(['chalk'])
    const chunks = await loaded(['decode', '--chunks'], line)
    expect(chunks.r.code).toBe(0)
    expect(chunks.r.stdout).toMatch(/vendor.*id.*name.*length.*value/)
    expect(chunks.heavy).toEqual(['cli-table3'])
  })
})

describe('code cache (bin/run.js, scripts/bundle.mjs)', () => {
  const run = (bin: string, args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args], {
        env: { ...process.env, HEP_DEBUG: 'startup' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('close', (code) => resolve({ code, stdout, stderr }))
    })

  it('is made for this very bundle and used, and import() still works from cached code', async () => {
    const bundle = readFileSync(join(ROOT, 'dist/hep.cjs'), 'utf8')
    const cache = readFileSync(join(ROOT, 'dist/hep.cjs.cache'))
    expect(cache.toString('latin1', 0, cache.indexOf(10))).toBe(bundle.slice(0, bundle.indexOf('\n')))
    const r = await run(BIN, ['decode', fixture('hep/hep-v3.hex'), '--json'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('hep: code cache used')
    // oclif's not-found hook and chalk come through import() from code that came from the cache
    const nf = await run(BIN, ['decod'])
    expect(nf.stderr).toContain('hep: code cache used')
    expect(nf.stderr).toMatch(/decod is not a hep command/)
    const col = await run(BIN, ['decode', fixture('hep/hep-v3.hex'), '--color'])
    expect(col.code).toBe(0)
    expect(col.stdout).toContain('\x1b[')
  })

  it('is not used when made for another build or damaged, and hep works the same', async () => {
    // a copy of the package whose cache is another build's, then garbage with this build's id
    const pkg = mkdtempSync(join(tmpdir(), 'hep-cache-'))
    try {
      mkdirSync(join(pkg, 'bin'))
      cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true })
      copyFileSync(BIN, join(pkg, 'bin/run.js'))
      copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'))
      symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'))
      const args = ['decode', fixture('hep/hep-v3.hex'), '--json']
      const want = await run(BIN, args)
      const cacheFile = join(pkg, 'dist/hep.cjs.cache')
      const cache = readFileSync(cacheFile)
      const nl = cache.indexOf(10)
      writeFileSync(
        cacheFile,
        Buffer.concat([Buffer.from('// hep bundle another\n'), cache.subarray(nl + 1)]),
      )
      const other = await run(join(pkg, 'bin/run.js'), args)
      expect(other.stderr).toContain('hep: code cache none')
      expect([other.code, other.stdout]).toEqual([0, want.stdout])
      writeFileSync(cacheFile, Buffer.concat([cache.subarray(0, nl + 1), Buffer.alloc(4096, 7)]))
      const bad = await run(join(pkg, 'bin/run.js'), args)
      expect(bad.stderr).toContain('hep: code cache rejected')
      expect([bad.code, bad.stdout]).toEqual([0, want.stdout])
      const nf = await run(join(pkg, 'bin/run.js'), ['decod'])
      expect(nf.stderr).toMatch(/decod is not a hep command/)
    } finally {
      rmSync(pkg, { recursive: true, force: true })
    }
  })
})
