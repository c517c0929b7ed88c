// The lint rule that keeps the CLI out of src/ (eslint.config.js): it bites in src/, not in commands/.
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const eslint = new ESLint()

async function problems(code: string, filePath: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath })
  return r.messages.map((m) => `${m.ruleId}`)
}

describe('src/ has no CLI in it', () => {
  it.each([
    ["import { Flags } from '@oclif/core'\nvoid Flags\n", 'no-restricted-imports'],
    ["import { Chalk } from 'chalk'\nvoid Chalk\n", 'no-restricted-imports'],
    ["import Table from 'cli-table3'\nvoid Table\n", 'no-restricted-imports'],
    ["import { SingleBar } from 'cli-progress'\nvoid SingleBar\n", 'no-restricted-imports'],
    ["import { stdout } from 'node:process'\nvoid stdout\n", 'no-restricted-imports'],
    ["process.stdout.write('x')\n", 'no-restricted-properties'],
    ['const { stdout } = process\nvoid stdout\n', 'no-restricted-properties'],
    ["export const c = () => import('chalk')\n", 'no-restricted-syntax'],
  ])('%s', async (code, rule) => {
    expect(await problems(code, 'src/x.ts')).toContain(rule)
    expect(await problems(code, 'commands/x.ts')).toEqual([])
  })

  it('what src/ may do: write to a stream it is given, or to stderr', async () => {
    const code =
      "import type { Writable } from 'node:stream'\nexport const w = (s: Writable) => s.write('x')\n"
    expect(await problems(code, 'src/x.ts')).toEqual([])
    expect(await problems("process.stderr.write('x')\n", 'src/x.ts')).toEqual([])
  })
})
