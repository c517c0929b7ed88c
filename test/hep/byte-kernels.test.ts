import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { byteKernels } from '../../src/hep/byte-kernels.js'
import { payloadAscii } from '../../src/hep/json-bytes.js'

// a deterministic generator: the same cases every run
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const k = byteKernels()

describe('byte kernels (WebAssembly)', () => {
  it('are there on Node 20 (SIMD)', () => {
    expect(k).toBeDefined()
  })

  it('escape every ASCII buffer as the JavaScript loop does, and refuse any other byte', () => {
    const r = rng(7)
    const js = Buffer.alloc(1 << 20)
    const wa = Buffer.alloc(1 << 20)
    for (let t = 0; t < 5000; t++) {
      const n = Math.floor(r() * 300)
      const src = Buffer.alloc(n)
      for (let i = 0; i < n; i++) src[i] = r() < 0.3 ? Math.floor(r() * 0x80) : 0x20 + Math.floor(r() * 0x60)
      const high = r() < 0.1 && n > 0
      if (high) src[Math.floor(r() * n)] = 0x80 + Math.floor(r() * 0x80)
      const end = k!.escapeAscii(src, wa, 1)
      if (high) {
        expect(end).toBe(-1)
        continue
      }
      const e = payloadAscii(js, 0, src)
      expect(wa.toString('latin1', 1, end)).toBe(js.toString('latin1', 1, e - 1))
      expect(js.toString('latin1', 0, e)).toBe(JSON.stringify(src.toString('latin1', 0, n)))
    }
  })

  it('decode hex digits as Buffer.from does, and refuse any other character', () => {
    const r = rng(11)
    const digits = '0123456789abcdefABCDEF'
    for (let t = 0; t < 5000; t++) {
      const n = 2 * Math.floor(r() * 100)
      const s = Buffer.alloc(n)
      for (let i = 0; i < n; i++) s[i] = digits.charCodeAt(Math.floor(r() * digits.length))
      const bad = r() < 0.2 && n > 0
      if (bad) s[Math.floor(r() * n)] = Math.floor(r() * 256)
      k!.load(s)
      const got = k!.unhexLoaded(0, n)
      const want = Buffer.from(s.toString('latin1', 0, n), 'hex')
      if (want.length * 2 === n) expect(got?.toString('hex')).toBe(want.toString('hex'))
      else expect(got).toBeUndefined()
    }
  })

  it('decode gives the same lines and errors with and without them (HEP_WASM=0)', () => {
    const good = readFileSync('fixtures/hep/hep-v3.hex', 'utf8').trim().split('\n')
    // plain lines, CRLF, a lone CR, tidied ones, blank and comment lines, bad hex, odd digits
    const text =
      [good[0], '  0x' + good[1].toUpperCase() + ' ', '', '# c', 'zz', 'abc', good[2].slice(0, 40)].join(
        '\r\n',
      ) +
      '\n' +
      good[3] +
      '\r' +
      good[4] +
      '\n' +
      good.slice(5).join('\n') +
      '\n'
    const dir = mkdtempSync(join(tmpdir(), 'hep-kernels-'))
    const file = join(dir, 'in.hex')
    writeFileSync(file, text)
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['bin/run.js', 'decode', file, '--json'], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      })
    const a = run({})
    const b = run({ HEP_WASM: '0' })
    rmSync(dir, { recursive: true, force: true })
    expect(a.stdout.split('\n').length).toBeGreaterThan(good.length - 2)
    expect(a.stdout).toBe(b.stdout)
    expect(a.stderr).toBe(b.stderr)
    expect(a.stderr).toContain('not hex at column 1')
    expect(a.stderr).toContain('odd number of hex digits')
    expect(a.status).toBe(b.status)
  })
})
