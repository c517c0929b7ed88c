/**
 * A stand-in capture engine for the tests that need no root: a fresh folder with an executable
 * `tcpdump` shell script in `bin/`, which a test puts first on PATH. The folder is removed after the
 * test file's tests.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

export function fakeTcpdump(prefix: string, script: string): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'tcpdump'), script)
  chmodSync(join(bin, 'tcpdump'), 0o755)
  return { dir, bin }
}
