// Start-up: the command list is explicit and complete, and the libraries only some paths need
// (colours, tables, progress bars, WebSocket, metrics) are loaded by those paths alone (#15).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fixture, hep, ROOT } from '../helpers/cli.js'

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
